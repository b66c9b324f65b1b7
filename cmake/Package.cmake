# The Debian package: `make package` (a Release build) or `cpack` in any
# native build directory writes parley_<version>_amd64.deb there. CPack's
# DEB generator installs the same rules as `cmake --install`
# (cmake/Install.cmake) with prefix /usr, whatever prefix the build was
# configured with, so the package holds
#
#   /usr/bin/parley, /usr/share/parley/{web,wasm}/, /usr/share/man/man1/parley.1.gz,
#   /lib/systemd/system/parley.service, /etc/parley/parley.conf (a conffile),
#   /usr/share/doc/parley/{copyright,changelog.gz}, /usr/share/lintian/overrides/parley
#
# and the maintainer scripts of packaging/debian/: postinst creates the parley
# system user and /var/lib/parley (0750, parley:parley), the two the unit's
# User=parley and StateDirectory=parley expect, and enables the unit without
# starting it; prerm stops it on remove; postrm on purge removes the user but
# keeps the data. Depends is computed by dpkg-shlibdeps from the libraries
# the binary links (runtime packages, never -dev ones), plus adduser.
set(PARLEY_PACKAGE_MAINTAINER "Parley maintainers <parley@example.org>"
  CACHE STRING "Maintainer field of the Debian package (Name <address>)")
set(PARLEY_PACKAGE_HOMEPAGE "https://parley.example.org"
  CACHE STRING "Homepage field of the Debian package")

# Debian wants a copyright file and a changelog in every package's doc directory.
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in
  ${PROJECT_BINARY_DIR}/packaging/changelog @ONLY)
execute_process(COMMAND gzip -9nc ${PROJECT_BINARY_DIR}/packaging/changelog
  OUTPUT_FILE ${PROJECT_BINARY_DIR}/packaging/changelog.gz COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The tags lintian reports that are deliberate, each with its reason in the file.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/parley.lintian-overrides
  DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME parley)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME parley)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The Parley authors")
set(CPACK_PACKAGE_CONTACT "${PARLEY_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# An installed binary is stripped, whatever the build type.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # parley_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PARLEY_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PARLEY_PACKAGE_HOMEPAGE}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time chat server with a browser client")
# The summary above is the Description's first line; this is the rest.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Parley is one server binary that serves a browser chat client, speaks a
compact binary protocol over WebSocket (through a WebAssembly module in the
browser), broadcasts every message at once and persists everything to an
embedded SQLite database.
.
The package runs it under systemd as the parley user, with its data in
/var/lib/parley and its settings in /etc/parley/parley.conf.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
# Maintainer scripts 0755 and conffiles 0644 in the package, whatever the
# checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# cpack first builds the preinstall target, which by default means every
# target of the build directory; `make package` builds only the server, and
# the test that runs cpack on the dev build (tests/install/deb_test.sh) must
# not start a build of its own.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_SOURCE_GENERATOR TXZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/node_modules/")

include(CPack)
