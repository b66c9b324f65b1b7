# `cmake --install` (and `make install PREFIX=... DESTDIR=...`): the binary in
# bin/, the browser client and the wasm module in share/parley/ (where the
# binary looks, relative to itself, so an installed server needs no
# --static-dir), the systemd unit, the default config and the man page.
include(GNUInstallDirs)

install(TARGETS parley RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/parley/web
  PATTERN README.md EXCLUDE)

# The wasm preset publishes the module to build/wasm/ of the source tree,
# whichever native preset is installed; without it the client cannot run.
set(PARLEY_WASM_OUTPUT ${PROJECT_SOURCE_DIR}/build/wasm)
install(CODE "
  if(NOT EXISTS \"${PARLEY_WASM_OUTPUT}/parley_protocol.wasm\")
    message(FATAL_ERROR \"${PARLEY_WASM_OUTPUT} has no parley_protocol.wasm: build it first (make wasm)\")
  endif()")
install(DIRECTORY ${PARLEY_WASM_OUTPUT}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/parley/wasm)

# The unit names this install's paths.
file(READ ${PROJECT_SOURCE_DIR}/packaging/parley.service parley_unit)
string(REPLACE "/usr/bin/parley" "${CMAKE_INSTALL_FULL_BINDIR}/parley" parley_unit "${parley_unit}")
string(REPLACE "/etc/parley/parley.conf" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/parley/parley.conf" parley_unit "${parley_unit}")
file(WRITE ${PROJECT_BINARY_DIR}/packaging/parley.service "${parley_unit}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/packaging/parley.service)
# Debian's systemd reads units from /lib/systemd/system (the same directory
# as /usr/lib/systemd/system on a merged-/usr system).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(PARLEY_UNIT_DIR /lib/systemd/system)
else()
  set(PARLEY_UNIT_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
install(FILES ${PROJECT_BINARY_DIR}/packaging/parley.service DESTINATION ${PARLEY_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/parley.conf DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/parley)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/parley.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
