# Copies the built module into the directory the server and tests read, and
# prints each file's size (raw and gzip -9, as docs/benchmarks.md quotes them).
#
#   cmake -DDESTINATION=dir "-DFILES=a;b;c" -P wasm/publish.cmake
#
# Each file is copied beside its destination and renamed into place, so a
# server or test reading the directory meanwhile never sees half a file.

# Pads the variable `var` with spaces to `width`, on the side away from `align`.
function(pad var width align)
  string(LENGTH "${${var}}" length)
  math(EXPR count "${width} - ${length}")
  if(count GREATER 0)
    string(REPEAT " " ${count} spaces)
  endif()
  if(align STREQUAL LEFT)
    set(${var} "${${var}}${spaces}" PARENT_SCOPE)
  else()
    set(${var} "${spaces}${${var}}" PARENT_SCOPE)
  endif()
endfunction()

file(MAKE_DIRECTORY ${DESTINATION})
foreach(file IN LISTS FILES)
  cmake_path(GET file FILENAME name)
  set(target ${DESTINATION}/${name})
  file(COPY_FILE ${file} ${target}.tmp)
  file(RENAME ${target}.tmp ${target})

  execute_process(COMMAND gzip -9 -c ${target} OUTPUT_FILE ${target}.gz.tmp COMMAND_ERROR_IS_FATAL ANY)
  file(SIZE ${target} bytes)
  file(SIZE ${target}.gz.tmp gzipped)
  file(REMOVE ${target}.gz.tmp)
  pad(name 22 LEFT)
  pad(bytes 7 RIGHT)
  pad(gzipped 6 RIGHT)
  message("wasm: ${name} ${bytes} bytes, ${gzipped} gzipped")
endforeach()
