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

# The config file and the unit go where the prefix chosen at install time
# says (`cmake --install --prefix`, and cpack, which installs with /usr
# whatever this build was configured with), so that is decided by a script
# that runs at install time: cmake/InstallSystemFiles.cmake.
install(CODE "
  set(PARLEY_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(PARLEY_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(PARLEY_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/InstallSystemFiles.cmake)

# The man page compressed, as Debian policy asks (man reads it either way).
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/packaging)
execute_process(COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/packaging/parley.1
  OUTPUT_FILE ${PROJECT_BINARY_DIR}/packaging/parley.1.gz COMMAND_ERROR_IS_FATAL ANY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/packaging/parley.1)
install(FILES ${PROJECT_BINARY_DIR}/packaging/parley.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
