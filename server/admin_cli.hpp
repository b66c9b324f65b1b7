// `parley admin ...`: account administration from the command line, in the
// same binary and on the same database as the server.
//
//   parley admin grant NAME                   make NAME an admin
//   parley admin revoke NAME                  take it back (never from the last admin)
//   parley admin add-user NAME [--admin]      create an account; the password is one line on stdin
//   parley admin invite [--uses N] [--expires DURATION]   print a new invite code and its link
//   parley admin reset-password NAME          a new password from stdin; their sessions end
//   parley admin disable-user NAME            no sign-in; sessions and open connections end
//   parley admin enable-user NAME             sign-in allowed again
//   parley admin list-users (or list)         every account: admin flag, disabled flag, creation time
//   parley admin list-rooms                   every room not deleted, with members and last activity
//   parley backup FILE                        a checked copy of the live database
//   parley restore FILE                       swap a backup in (the server stopped)
//
// While a server holds the data directory, grant, revoke, reset-password
// and disable/enable-user are sent to it over its control socket, so their
// effect reaches live connections at once (admin_remote.hpp).
//
// Each takes the server's --data-dir (or PARLEY_DATA_DIR), opens the
// database, applies pending migrations, and does its work in SQLite
// transactions, so it is safe while a server runs on the same database
// (WAL; the busy timeout waits out the server's writer). Exit codes: 0 done,
// 1 refused or failed (the reason on stderr), 2 bad arguments.
#pragma once

#include <iosfwd>

namespace parley::server {

/**
 * Runs `parley admin ...`.
 * @param argc, argv the whole command line (argv[1] is "admin")
 * @param environ_lookup PARLEY_* variables, as for the server
 * @return the process exit code
 */
int run_admin(int argc, const char* const* argv, const char* (*environ_lookup)(const char*), std::istream& in,
              std::ostream& out, std::ostream& err);

/**
 * Runs `parley backup FILE` (a checked copy of the live database, while the
 * server runs or not) or `parley restore FILE` (only while no server holds
 * the data directory: the file is checked, the current database kept aside
 * and the file swapped in). Same options and exit codes as run_admin.
 * @param argv the whole command line (argv[1] is "backup" or "restore")
 */
int run_backup(int argc, const char* const* argv, const char* (*environ_lookup)(const char*), std::ostream& out,
               std::ostream& err);

}  // namespace parley::server
