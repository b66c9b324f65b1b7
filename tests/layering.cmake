# Fails when a server layer includes a header of a layer it must not know:
#   cmake -DROOT=<source dir> -P tests/layering.cmake
# The order, lowest first; each layer may include only the layers it lists.
# The link graph (server/*/CMakeLists.txt) says the same for symbols; this
# catches a header-only reach, which no linker sees.
cmake_minimum_required(VERSION 3.25)  # IN_LIST

set(allowed_core  core)
set(allowed_store core store)
set(allowed_cluster core cluster)
set(allowed_chat  core chat)
set(allowed_net   core store cluster chat net)

set(violations "")
foreach(layer core store cluster chat net)
  file(GLOB_RECURSE sources ${ROOT}/server/${layer}/*.hpp ${ROOT}/server/${layer}/*.cpp)
  foreach(source ${sources})
    file(STRINGS ${source} includes REGEX "^#include \"server/")
    foreach(line ${includes})
      string(REGEX MATCH "\"server/([a-z_]+)/" matched "${line}")
      set(target_layer "${CMAKE_MATCH_1}")
      if(NOT matched)
        # server/<file>.hpp: the application layer, above every other
        set(target_layer "application")
      endif()
      if(NOT target_layer IN_LIST allowed_${layer})
        file(RELATIVE_PATH rel ${ROOT} ${source})
        string(APPEND violations "  ${rel}: ${line} (${layer} may include: ${allowed_${layer}})\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "server layers include upwards or sideways:\n${violations}")
endif()
message(STATUS "server layers: every include points down")
