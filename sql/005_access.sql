-- Version 5: server-wide roles and invite codes.
--
-- users.is_admin marks the server's administrators: they create invites and
-- (later) moderate every room. The first account ever created is an admin
-- (accounts.cpp sets it in the same INSERT, so two racing first
-- registrations make exactly one). A database from before this version has
-- no admin: its oldest account (lowest created_at, then lowest id) becomes
-- one here; `parley admin grant NAME` / `revoke NAME` change it later.
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
UPDATE users SET is_admin = 1
 WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1);

-- An invite lets uses_left more people register while registration is
-- `invite`. Only the BLAKE2b-256 hash of the code is stored, as for session
-- tokens: a copy of the database lets nobody in. A use is consumed in the
-- registration's own transaction, so a refused registration consumes none.
CREATE TABLE invites (
    id         INTEGER PRIMARY KEY,
    code_hash  BLOB    NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users(id) ON DELETE CASCADE,  -- NULL: made with `parley admin invite`
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    uses       INTEGER NOT NULL,                -- granted
    uses_left  INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invites_by_creator ON invites(created_by);
