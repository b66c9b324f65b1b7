# Part of `cmake --install` (included by cmake/Install.cmake's rules): the
# config file and the systemd unit, whose places depend on the install
# prefix. It runs at install time because that prefix is only known then:
# `cmake --install --prefix` may differ from the configured one, and cpack
# always installs with /usr (cmake/Package.cmake).
#
#   prefix /usr      /etc/parley/parley.conf, /lib/systemd/system/parley{,-backup}.service, parley-backup.timer
#   any other        PREFIX/etc/parley/parley.conf, PREFIX/lib/systemd/system/parley.service
#
# (an absolute CMAKE_INSTALL_SYSCONFDIR is used as it is). The unit's
# ExecStart names this install's binary and config file. Inputs, set by
# Install.cmake: PARLEY_SOURCE_DIR, PARLEY_BINDIR, PARLEY_SYSCONFDIR.
string(REGEX REPLACE "/$" "" parley_prefix "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${PARLEY_SYSCONFDIR}")
  set(parley_sysconf "${PARLEY_SYSCONFDIR}")
elseif(parley_prefix STREQUAL "/usr")
  set(parley_sysconf "/${PARLEY_SYSCONFDIR}")
else()
  set(parley_sysconf "${parley_prefix}/${PARLEY_SYSCONFDIR}")
endif()
if(IS_ABSOLUTE "${PARLEY_BINDIR}")
  set(parley_bindir "${PARLEY_BINDIR}")
else()
  set(parley_bindir "${parley_prefix}/${PARLEY_BINDIR}")
endif()
# Debian's systemd reads units from /lib/systemd/system (the same directory
# as /usr/lib/systemd/system on a merged-/usr system).
if(parley_prefix STREQUAL "/usr")
  set(parley_unit_dir /lib/systemd/system)
else()
  set(parley_unit_dir "${parley_prefix}/lib/systemd/system")
endif()

file(INSTALL DESTINATION "${parley_sysconf}/parley" TYPE FILE
  FILES "${PARLEY_SOURCE_DIR}/packaging/parley.conf")

# The units in packaging/ (the server, and the daily backup with its timer)
# are written for prefix /usr. Each is written straight into the
# destination (not through a file in the build tree, which two concurrent
# installs with different prefixes would both rewrite).
foreach(unit parley.service parley-backup.service parley-backup.timer)
  file(READ "${PARLEY_SOURCE_DIR}/packaging/${unit}" parley_unit)
  string(REPLACE "/usr/bin/parley" "${parley_bindir}/parley" parley_unit "${parley_unit}")
  string(REPLACE "/etc/parley/parley.conf" "${parley_sysconf}/parley/parley.conf" parley_unit "${parley_unit}")
  set(parley_unit_file "$ENV{DESTDIR}${parley_unit_dir}/${unit}")
  message(STATUS "Installing: ${parley_unit_file}")
  file(WRITE "${parley_unit_file}" "${parley_unit}")
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${parley_unit_dir}/${unit}")
endforeach()
