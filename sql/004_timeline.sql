-- Version 4: the room timeline and its epochs.
--
-- Every change of a room is an event with a sequence number, dense per room:
-- messages (table messages, seq = the message's number) and the changes made
-- to them (table changes: edits, deletions, reactions, and voids, which stand
-- for events that could not be stored). Together they hold every seq from 1
-- to the room's last, so a replay from disk is gap-free by construction.
CREATE TABLE changes (
    room_id     INTEGER NOT NULL REFERENCES rooms(id),
    seq         INTEGER NOT NULL,
    kind        INTEGER NOT NULL,              -- 1 edited, 2 deleted, 3 reaction set, 4 void
    user_id     INTEGER NOT NULL DEFAULT 0,
    client_id   INTEGER NOT NULL DEFAULT 0,    -- the client's id of the change; 0: none
    message_seq INTEGER NOT NULL DEFAULT 0,
    text        TEXT    NOT NULL DEFAULT '',   -- edited: the new text
    reaction    INTEGER NOT NULL DEFAULT 0,    -- reaction set: protocol reaction_kind,
    added       INTEGER NOT NULL DEFAULT 0,    --   whether it was put on or taken off,
    count       INTEGER NOT NULL DEFAULT 0,    --   and the message's total of it after
    at          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;

-- De-duplication has one scope everywhere: (room, user, client id).
CREATE UNIQUE INDEX changes_by_client_id ON changes(room_id, user_id, client_id) WHERE client_id != 0;
DROP INDEX messages_by_client_id;
CREATE UNIQUE INDEX messages_by_client_id ON messages(room_id, author_id, client_msg_id) WHERE client_msg_id != 0;

-- An epoch is one unbroken run of a room's numbering; base_seq is the last
-- seq known to be the same in the run before and this one. Ordered by id.
CREATE TABLE room_epochs (
    id         INTEGER PRIMARY KEY,
    room_id    INTEGER NOT NULL REFERENCES rooms(id),
    epoch      INTEGER NOT NULL,
    base_seq   INTEGER NOT NULL,
    started_at INTEGER NOT NULL
);
CREATE INDEX room_epochs_by_room ON room_epochs(room_id, id);
