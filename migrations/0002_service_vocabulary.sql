-- songrec schema, version 2: the database stores the service's own words.
--
-- Until now the service translated on the way in and out: the terminal front ends' votes ("chat",
-- "cli") were stored as "command", and "taste" and "session" suggestions as "content", told apart
-- again by their score parts and session id. From here on what the service says is what is stored
-- (songrec/domain/vocabulary.py is the one list), so:
--   1. feedback is rebuilt so its CHECK allows every feedback source;
--   2. suggestions whose kind was translated get their real kind back;
--   3. guild_settings is rebuilt with the one explore-rate default, 0.2 (DEFAULT_EXPLORE_RATE).
--
-- Table rebuilds follow SQLite's recipe (create new, copy, drop, rename, recreate every index).
-- The runner turns foreign keys off around migrations and runs PRAGMA foreign_key_check before it
-- commits, so dropping the old feedback table touches no other row, and a broken reference would
-- roll the whole file back. Nothing else references feedback except its own replaced_by column,
-- which names "feedback" and so points at the rebuilt table once it is renamed.

-- 1. feedback -----------------------------------------------------------------------------------

CREATE TABLE feedback_v2 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids never reused, so since_id cursors stay valid
    user_id        INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    track_id       TEXT    NOT NULL,
    value          INTEGER NOT NULL CHECK (value IN (-1, 1)),
    source         TEXT    NOT NULL CHECK (source IN ('command', 'reaction', 'button', 'session', 'chat', 'cli')),
    guild_id       INTEGER,
    channel_id     INTEGER,
    suggestion_id  INTEGER REFERENCES suggestions(id) ON DELETE SET NULL,
    created_at     REAL    NOT NULL,
    undone_at      REAL,                         -- tombstone: set by undo or when a newer opposite vote replaces it
    replaced_by    INTEGER REFERENCES feedback(id) ON DELETE SET NULL
);

INSERT INTO feedback_v2 (id, user_id, track_id, value, source, guild_id, channel_id, suggestion_id,
                         created_at, undone_at, replaced_by)
SELECT id, user_id, track_id, value, source, guild_id, channel_id, suggestion_id,
       created_at, undone_at, replaced_by
FROM feedback;

-- Keep the AUTOINCREMENT high-water mark: ids of deleted votes (forget_user) must never come back.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'feedback_v2', seq FROM sqlite_sequence
WHERE name = 'feedback' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'feedback_v2');
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'feedback'), 0))
WHERE name = 'feedback_v2';

DROP TABLE feedback;
ALTER TABLE feedback_v2 RENAME TO feedback;

-- One live feedback per (user, track); tombstoned rows stay for history and training audits.
CREATE UNIQUE INDEX feedback_one_live ON feedback(user_id, track_id) WHERE undone_at IS NULL;
CREATE INDEX feedback_user_created ON feedback(user_id, created_at);
CREATE INDEX feedback_created ON feedback(created_at);
CREATE INDEX feedback_suggestion ON feedback(suggestion_id) WHERE suggestion_id IS NOT NULL;

-- 2. suggestion kinds ---------------------------------------------------------------------------
-- Same order as the old read-back: a session id first, then a "taste" score part.

UPDATE suggestions SET kind = 'session' WHERE kind = 'content' AND session_id IS NOT NULL;
UPDATE suggestions SET kind = 'taste'
WHERE kind = 'content' AND json_type(score_parts, '$.taste') IS NOT NULL;
-- Kinds the service no longer has (an early "cf") were always read back as "content".
UPDATE suggestions SET kind = 'content'
WHERE kind NOT IN ('content', 'taste', 'explore', 'cold_start', 'similar_users', 'session');

-- 3. guild_settings -----------------------------------------------------------------------------

CREATE TABLE guild_settings_v2 (
    guild_id            INTEGER PRIMARY KEY,
    command_channel_id  INTEGER,
    explore_rate        REAL    NOT NULL DEFAULT 0.2 CHECK (explore_rate >= 0.0 AND explore_rate <= 1.0),
    session_strategy    TEXT    NOT NULL DEFAULT 'average',
    updated_at          REAL    NOT NULL
);

INSERT INTO guild_settings_v2 (guild_id, command_channel_id, explore_rate, session_strategy, updated_at)
SELECT guild_id, command_channel_id, explore_rate, session_strategy, updated_at FROM guild_settings;

DROP TABLE guild_settings;
ALTER TABLE guild_settings_v2 RENAME TO guild_settings;
