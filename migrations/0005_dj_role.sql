-- songrec schema, version 5: the server's DJ role.
--
-- guild_settings gains dj_role_id: when set (/settings dj_role), only members with that role (or with
-- Manage Server) start, skip and end group sessions and post or export the monthly mix. NULL means no
-- DJ role: those commands stay as open as before.

ALTER TABLE guild_settings ADD COLUMN dj_role_id INTEGER;
