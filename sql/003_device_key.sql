-- Version 3: secrets of the server. `device_key` signs the device cookies that
-- let a browser which signed in before skip the guessing limits of /api/login.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
