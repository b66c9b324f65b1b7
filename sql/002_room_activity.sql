-- Version 2: rooms remember their latest message, so the room list can be
-- ordered by activity without scanning messages.
ALTER TABLE rooms ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN last_message_at INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET
    last_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE messages.room_id = rooms.id), 0),
    last_message_at = COALESCE((SELECT MAX(sent_at) FROM messages WHERE messages.room_id = rooms.id), 0);
