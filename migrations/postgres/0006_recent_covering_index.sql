-- songrec schema, version 6, in PostgreSQL's dialect (the SQLite file is ../0006_recent_covering_index.sql):
-- the recent-suggestions read served by an index-only scan. The index carries track_id and id beside its
-- (user_id, created_at) key, and replaces suggestions_user_created.

CREATE INDEX suggestions_user_created_track ON suggestions(user_id, created_at) INCLUDE (track_id, id);
DROP INDEX suggestions_user_created;
