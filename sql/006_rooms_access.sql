-- Version 6: room kinds, memberships, roles and moderation.
--
-- rooms.name is a room's address, what join_room takes: a public room's
-- name, or for private and direct rooms '~' and 22 random base32
-- characters (an address no public name can take). title is the name
-- shown (a public room's is its address); direct rooms have none and are
-- shown by their people. direct_key names a direct room's people (their
-- ids, ascending, comma-separated): the same people, the same room.
-- A deleted room keeps its row (its messages refer to it) but is never
-- loaded again; its address is freed.
ALTER TABLE rooms ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;  -- protocol room_kind: 0 public, 1 private, 2 direct
ALTER TABLE rooms ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN topic TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN direct_key TEXT;
ALTER TABLE rooms ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET title = name;
CREATE UNIQUE INDEX rooms_by_direct_key ON rooms(direct_key) WHERE direct_key IS NOT NULL;

-- Where each user stands with each room they ever had to do with. A row
-- changes only through the room's timeline: every change of it is an event
-- (table changes, kind 5) in the same transaction, and `seq` is that event.
CREATE TABLE memberships (
    room_id    INTEGER NOT NULL REFERENCES rooms(id),
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    state      INTEGER NOT NULL,             -- 0 member, 1 invited, 2 banned, 3 gone (left, kicked, declined)
    role       INTEGER NOT NULL DEFAULT 0,   -- protocol room_role: 0 member, 1 moderator, 2 owner
    muted      INTEGER NOT NULL DEFAULT 0,
    invited_by INTEGER NOT NULL DEFAULT 0,   -- invitations: who invited
    seq        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_by_user ON memberships(user_id, room_id);

-- Rooms from before this version are public. Their creators own them, and
-- everyone who wrote in one is a member.
INSERT INTO memberships(room_id, user_id, state, role)
    SELECT id, created_by, 0, 2 FROM rooms WHERE created_by IS NOT NULL;
INSERT OR IGNORE INTO memberships(room_id, user_id, state, role)
    SELECT DISTINCT room_id, author_id, 0, 0 FROM messages;

-- Room events (changes.kind 5): user_id is who acted, target_id on whom,
-- action the protocol room_action, role and room_kind what it set, text the
-- title or topic set.
ALTER TABLE changes ADD COLUMN target_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN action INTEGER NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN role INTEGER NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN room_kind INTEGER NOT NULL DEFAULT 0;

-- Who deleted a message: its author, a moderator or an admin.
ALTER TABLE messages ADD COLUMN deleted_by INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET deleted_by = author_id WHERE deleted_at != 0;
