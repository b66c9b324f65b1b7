# Every Parley target is declared through these helpers, so that warnings,
# include paths and aliases are the same everywhere.
#
#   parley_add_library(NAME protocol SRCS ... DEPS ... [PUBLIC_DEPS ...])
#     -> target parley_protocol, alias parley::protocol
#   parley_add_executable(NAME parley SRCS ... DEPS ... [OUTPUT_NAME name] [LINK_OPTIONS ...])
#   parley_add_test(NAME codec_test SRCS ... DEPS ... LABELS protocol)
#     -> a GoogleTest executable registered with CTest under the labels

function(parley_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wconversion -Wsign-conversion -Wimplicit-fallthrough
    # Designated initializers rely on default member initializers on purpose.
    -Wno-missing-field-initializers)
  if(PARLEY_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(parley_add_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target parley_${A_NAME})
  add_library(${target} STATIC ${A_SRCS})
  add_library(parley::${A_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC ${A_PUBLIC_DEPS} PRIVATE ${A_DEPS})
  target_compile_features(${target} PUBLIC cxx_std_20)
  parley_set_warnings(${target})
endfunction()

function(parley_add_executable)
  cmake_parse_arguments(A "" "NAME;OUTPUT_NAME" "SRCS;DEPS;LINK_OPTIONS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
  target_link_options(${A_NAME} PRIVATE ${A_LINK_OPTIONS})
  if(A_OUTPUT_NAME)
    set_target_properties(${A_NAME} PROPERTIES OUTPUT_NAME ${A_OUTPUT_NAME})
  endif()
  parley_set_warnings(${A_NAME})
endfunction()

function(parley_add_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  parley_set_warnings(${A_NAME})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  # One CTest entry per executable keeps start-up costs (servers, databases)
  # shared by the cases of a suite; gtest prints each case.
  add_test(NAME ${A_NAME} COMMAND ${A_NAME} --gtest_color=no)
  set_tests_properties(${A_NAME} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "PARLEY_SOURCE_DIR=${PROJECT_SOURCE_DIR};PARLEY_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()
