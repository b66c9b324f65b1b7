# protocol/'s dependencies for the wasm preset, under the names the native
# build's find modules give them (cereal::cereal, PkgConfig::LZ4, ZLIB::ZLIB),
# so protocol/CMakeLists.txt is one list for both builds.
#
# lz4 and zlib are compiled with emcc from Debian's source packages, which
# wasm/fetch-deps.sh unpacks into PARLEY_WASM_DEPS_DIR (the versions of the
# installed -dev packages, so both builds compile the same library code).
# cereal is header-only and the installed copy is used.

set(PARLEY_WASM_DEPS_DIR ${CMAKE_BINARY_DIR}/_deps CACHE PATH
  "Where wasm/fetch-deps.sh unpacks the lz4 and zlib source packages")

# Does nothing, offline, once the installed versions are unpacked.
execute_process(COMMAND ${CMAKE_CURRENT_LIST_DIR}/fetch-deps.sh ${PARLEY_WASM_DEPS_DIR}
  RESULT_VARIABLE fetch_result)
if(NOT fetch_result EQUAL 0)
  message(FATAL_ERROR "wasm/fetch-deps.sh failed (${fetch_result}): lz4 and zlib sources are missing")
endif()

# The library code only: no warnings of ours, Release flags (-O3 -DNDEBUG).
set(lz4_dir ${PARLEY_WASM_DEPS_DIR}/lz4/lib)
add_library(lz4 STATIC
  ${lz4_dir}/lz4.c ${lz4_dir}/lz4hc.c ${lz4_dir}/lz4frame.c ${lz4_dir}/xxhash.c)
target_include_directories(lz4 SYSTEM PUBLIC ${lz4_dir})
add_library(PkgConfig::LZ4 ALIAS lz4)

# The compression core of zlib (the gz* files do file I/O and are not needed;
# Parley itself uses only crc32).
set(zlib_dir ${PARLEY_WASM_DEPS_DIR}/zlib)
add_library(zlib STATIC
  ${zlib_dir}/adler32.c ${zlib_dir}/compress.c ${zlib_dir}/crc32.c ${zlib_dir}/deflate.c
  ${zlib_dir}/infback.c ${zlib_dir}/inffast.c ${zlib_dir}/inflate.c ${zlib_dir}/inftrees.c
  ${zlib_dir}/trees.c ${zlib_dir}/uncompr.c ${zlib_dir}/zutil.c)
target_include_directories(zlib SYSTEM PUBLIC ${zlib_dir})
add_library(ZLIB::ZLIB ALIAS zlib)

# Emscripten's toolchain file confines find_* to its sysroot, and
# -I/usr/include would put glibc's headers before Emscripten's: point at a
# directory holding only a link to the installed cereal/.
find_path(PARLEY_CEREAL_INCLUDE_DIR cereal/cereal.hpp PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/_include)
file(CREATE_LINK ${PARLEY_CEREAL_INCLUDE_DIR}/cereal ${CMAKE_BINARY_DIR}/_include/cereal SYMBOLIC)
add_library(cereal::cereal INTERFACE IMPORTED)
target_include_directories(cereal::cereal SYSTEM INTERFACE ${CMAKE_BINARY_DIR}/_include)
