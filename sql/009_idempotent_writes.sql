-- A room has each epoch once, so a batch written again (retried, or claimed
-- by another node) skips the epochs it already wrote: INSERT ... ON CONFLICT
-- DO NOTHING needs a unique key to conflict on. Epoch ids are random 64-bit
-- numbers; a repeat can only be a row written twice.
DELETE FROM room_epochs WHERE id NOT IN (SELECT MIN(id) FROM room_epochs GROUP BY room_id, epoch);
CREATE UNIQUE INDEX room_epochs_by_room_epoch ON room_epochs(room_id, epoch);
