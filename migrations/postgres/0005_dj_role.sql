-- songrec schema, version 5, in PostgreSQL's dialect (the SQLite file is ../0005_dj_role.sql):
-- the server's DJ role, NULL while the server has none. Same column as SQLite's.

ALTER TABLE guild_settings ADD COLUMN dj_role_id BIGINT;
