# Runs the vector generator and fails if its output differs from the file in git.
execute_process(COMMAND ${GENERATOR} OUTPUT_FILE ${ACTUAL} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "parley-make-vectors failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${EXPECTED} ${ACTUAL} RESULT_VARIABLE diff)
if(NOT diff EQUAL 0)
  message(FATAL_ERROR "tests/vectors/packets.json is stale: regenerate with parley-make-vectors "
                      "(see tests/vectors/README.md) and review the diff")
endif()
