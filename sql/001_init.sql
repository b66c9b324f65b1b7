-- Parley schema, version 1: accounts, sessions, rooms, messages, reactions.
-- Times are milliseconds since the Unix epoch; 0 means "never".

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,      -- lower case: names are unique ignoring case
    password_hash TEXT    NOT NULL,             -- Argon2id, libsodium's crypto_pwhash_str format
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,             -- BLAKE2b-256 of the token; the token itself is never stored
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL
);

-- A message is identified by (room_id, seq); seq counts from 1 in each room.
CREATE TABLE messages (
    room_id       INTEGER NOT NULL REFERENCES rooms(id),
    seq           INTEGER NOT NULL,
    author_id     INTEGER NOT NULL REFERENCES users(id),
    client_msg_id INTEGER NOT NULL,
    text          TEXT    NOT NULL,
    sent_at       INTEGER NOT NULL,
    edited_at     INTEGER NOT NULL DEFAULT 0,
    deleted_at    INTEGER NOT NULL DEFAULT 0,   -- tombstone: text is emptied
    reply_to      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;
-- De-duplication of resent messages: one client message id per author.
CREATE UNIQUE INDEX messages_by_client_id ON messages(author_id, client_msg_id);

CREATE TABLE reactions (
    room_id  INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    reaction INTEGER NOT NULL,                  -- protocol reaction_kind
    user_id  INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (room_id, seq, reaction, user_id),
    FOREIGN KEY (room_id, seq) REFERENCES messages(room_id, seq)
) WITHOUT ROWID;
