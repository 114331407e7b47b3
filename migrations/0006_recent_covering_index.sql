-- songrec schema, version 6: what a listener was offered lately, read from the index alone.
--
-- Every recommend reads the listener's recent suggestions (to leave them out): their track ids within a
-- time window. suggestions_user_created held (user_id, created_at) only, so each of those rows was read
-- from the table as well. The new index also holds track_id (and, as every SQLite index does, the row
-- id), so the read never touches the table; it serves every query the old one did.

CREATE INDEX suggestions_user_created_track ON suggestions(user_id, created_at, track_id);
DROP INDEX suggestions_user_created;
