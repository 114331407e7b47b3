-- songrec schema, version 2, in PostgreSQL's dialect (the SQLite file is ../0002_service_vocabulary.sql):
-- the database stores the service's own words. PostgreSQL alters a CHECK and a DEFAULT in place, so
-- what SQLite does by rebuilding two tables is three ALTERs here; the data fixes are the same.

-- 1. feedback: every feedback source the service has.
ALTER TABLE feedback DROP CONSTRAINT feedback_source_check;
ALTER TABLE feedback ADD CONSTRAINT feedback_source_check
    CHECK (source IN ('command', 'reaction', 'button', 'session', 'chat', 'cli'));

-- 2. suggestion kinds: a session id first, then a "taste" score part (same order as SQLite's file).
UPDATE suggestions SET kind = 'session' WHERE kind = 'content' AND session_id IS NOT NULL;
UPDATE suggestions SET kind = 'taste' WHERE kind = 'content' AND (score_parts -> 'taste') IS NOT NULL;
UPDATE suggestions SET kind = 'content'
WHERE kind NOT IN ('content', 'taste', 'explore', 'cold_start', 'similar_users', 'session');

-- 3. guild_settings: the one explore-rate default, 0.2 (DEFAULT_EXPLORE_RATE).
ALTER TABLE guild_settings ALTER COLUMN explore_rate SET DEFAULT 0.2;
