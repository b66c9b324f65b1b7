-- Version 7: rooms live on disk and load on first use.
--
-- The directory pages through public rooms by name; this index holds only
-- them, so a server of a million direct conversations pages as fast as one
-- of ten rooms.
CREATE INDEX rooms_public_by_name ON rooms(name) WHERE kind = 0 AND deleted_at = 0;

-- A deleted room frees its people's key too: the same people may start a
-- new direct conversation.
UPDATE rooms SET direct_key = NULL WHERE deleted_at != 0;
