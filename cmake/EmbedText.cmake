# Turns a text file into a C++ source with one accessor returning its bytes:
#   parley_embed_text(OUTPUT file.cpp INPUT file FUNCTION name [NAMESPACE ns] [INCLUDE header])
# generates
#   #include "header"
#   namespace ns { std::string_view name() { return R"parley_text(<file>)parley_text"; } }
# at build time, by a custom command that depends on the input: the source
# is regenerated (and recompiled) only when the file changes, and changing
# it needs no CMake re-run (unlike cmake/EmbedSql.cmake, which globs a folder).
# INCLUDE names the header that declares the accessor, so that a mismatch is
# a compile error. The input must not contain the raw string's delimiter
# `)parley_text"`; generation fails if it does.
#
# The same file is the generator: run with -P (CMAKE_SCRIPT_MODE_FILE set),
# it reads -DINPUT and writes -DOUTPUT.

if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${INPUT}" text)
  string(FIND "${text}" ")parley_text\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${INPUT} contains the raw string delimiter )parley_text\"")
  endif()
  set(content "// Generated from ${SOURCE_NAME} by cmake/EmbedText.cmake. Do not edit.\n")
  if(INCLUDE)
    string(APPEND content "#include \"${INCLUDE}\"\n")
  endif()
  string(APPEND content "\n#include <string_view>\n\n")
  if(NAMESPACE)
    string(APPEND content "namespace ${NAMESPACE} {\n\n")
  endif()
  string(APPEND content "std::string_view ${FUNCTION}() {\n    return R\"parley_text(${text})parley_text\";\n}\n")
  if(NAMESPACE)
    string(APPEND content "\n}  // namespace ${NAMESPACE}\n")
  endif()
  file(WRITE "${OUTPUT}" "${content}")
  return()
endif()

set(PARLEY_EMBED_TEXT_SCRIPT ${CMAKE_CURRENT_LIST_FILE})

function(parley_embed_text)
  cmake_parse_arguments(A "" "OUTPUT;INPUT;FUNCTION;NAMESPACE;INCLUDE" "" ${ARGN})
  if(NOT A_OUTPUT OR NOT A_INPUT OR NOT A_FUNCTION)
    message(FATAL_ERROR "parley_embed_text: OUTPUT, INPUT and FUNCTION are required")
  endif()
  file(RELATIVE_PATH source_name ${PROJECT_SOURCE_DIR} ${A_INPUT})
  add_custom_command(OUTPUT ${A_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${A_INPUT} -DOUTPUT=${A_OUTPUT} -DSOURCE_NAME=${source_name}
            -DFUNCTION=${A_FUNCTION} -DNAMESPACE=${A_NAMESPACE} -DINCLUDE=${A_INCLUDE}
            -P ${PARLEY_EMBED_TEXT_SCRIPT}
    DEPENDS ${A_INPUT} ${PARLEY_EMBED_TEXT_SCRIPT}
    COMMENT "Embedding ${source_name}"
    VERBATIM)
endfunction()
