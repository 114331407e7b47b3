-- songrec schema, version 1.
--
-- Rules for every migration file (enforced by songrec/store/migrations.py):
--   * named NNNN_snake_name.sql, numbered 0001, 0002, ... with no gaps;
--   * no BEGIN/COMMIT and no PRAGMA: the runner wraps each file in one
--     transaction (BEGIN IMMEDIATE ... COMMIT) and records its version;
--   * never edit a file once it has shipped: add a new one (the runner
--     refuses to start when an applied file's checksum changed).
--
-- Conventions: Discord snowflakes (user, guild, channel, message ids) are
-- INTEGER (they fit in SQLite's signed 64 bits); Spotify track ids are TEXT;
-- every *_at column is REAL unix seconds (UTC); JSON columns are TEXT checked
-- with json_valid. Enumerations that the product may grow (suggestion kind,
-- session strategy, training status) are validated in Python rather than by
-- CHECK constraints, because SQLite cannot alter a CHECK without rebuilding
-- the table; feedback value and source are fixed by design and checked here.

CREATE TABLE users (
    user_id     INTEGER PRIMARY KEY,             -- Discord user id
    created_at  REAL    NOT NULL,
    settings    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object')
);

CREATE TABLE sessions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,          -- the text channel the session posts in
    voice_channel_id  INTEGER,
    created_by        INTEGER REFERENCES users(user_id) ON DELETE SET NULL,
    strategy          TEXT    NOT NULL DEFAULT 'average',
    started_at        REAL    NOT NULL,
    ended_at          REAL
);
-- At most one running session per channel.
CREATE UNIQUE INDEX sessions_one_active_per_channel ON sessions(channel_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_created_by ON sessions(created_by);

CREATE TABLE suggestions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER REFERENCES users(user_id) ON DELETE CASCADE,
    session_id     INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
    track_id       TEXT    NOT NULL,
    rank           INTEGER NOT NULL CHECK (rank >= 0),
    model_version  TEXT    NOT NULL,
    score          REAL,
    score_parts    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(score_parts)),
    reason         TEXT    NOT NULL DEFAULT '',
    kind           TEXT    NOT NULL,             -- content | explore | cold_start | cf | similar_users
    message_id     INTEGER,                      -- set by attach_message once posted
    channel_id     INTEGER,
    guild_id       INTEGER,
    created_at     REAL    NOT NULL,
    posted_at      REAL,
    CHECK (user_id IS NOT NULL OR session_id IS NOT NULL)
);
CREATE INDEX suggestions_user_created ON suggestions(user_id, created_at);
CREATE INDEX suggestions_session ON suggestions(session_id);
CREATE INDEX suggestions_message ON suggestions(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX suggestions_channel_created ON suggestions(channel_id, created_at);

CREATE TABLE feedback (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids never reused, so since_id cursors stay valid
    user_id        INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    track_id       TEXT    NOT NULL,
    value          INTEGER NOT NULL CHECK (value IN (-1, 1)),
    source         TEXT    NOT NULL CHECK (source IN ('command', 'reaction', 'button', 'session')),
    guild_id       INTEGER,
    channel_id     INTEGER,
    suggestion_id  INTEGER REFERENCES suggestions(id) ON DELETE SET NULL,
    created_at     REAL    NOT NULL,
    undone_at      REAL,                         -- tombstone: set by undo or when a newer opposite vote replaces it
    replaced_by    INTEGER REFERENCES feedback(id) ON DELETE SET NULL
);
-- One live feedback per (user, track); tombstoned rows stay for history and training audits.
CREATE UNIQUE INDEX feedback_one_live ON feedback(user_id, track_id) WHERE undone_at IS NULL;
CREATE INDEX feedback_user_created ON feedback(user_id, created_at);
CREATE INDEX feedback_created ON feedback(created_at);
CREATE INDEX feedback_suggestion ON feedback(suggestion_id) WHERE suggestion_id IS NOT NULL;

CREATE TABLE session_members (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    joined_at   REAL    NOT NULL,
    left_at     REAL
);
CREATE UNIQUE INDEX session_members_one_active ON session_members(session_id, user_id) WHERE left_at IS NULL;
CREATE INDEX session_members_user ON session_members(user_id);

CREATE TABLE session_tracks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    track_id       TEXT    NOT NULL,
    suggestion_id  INTEGER REFERENCES suggestions(id) ON DELETE SET NULL,
    suggested_at   REAL    NOT NULL,
    played_at      REAL
);
CREATE INDEX session_tracks_session ON session_tracks(session_id, track_id);

CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    command_channel_id  INTEGER,
    explore_rate        REAL    NOT NULL DEFAULT 0.1 CHECK (explore_rate >= 0.0 AND explore_rate <= 1.0),
    session_strategy    TEXT    NOT NULL DEFAULT 'average',
    updated_at          REAL    NOT NULL
);

CREATE TABLE training_runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at        REAL    NOT NULL,
    finished_at       REAL,
    status            TEXT    NOT NULL,          -- running | succeeded | failed | skipped | cancelled
    device            TEXT    NOT NULL,
    metrics           TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
    artifact_version  TEXT,
    promoted          INTEGER NOT NULL DEFAULT 0 CHECK (promoted IN (0, 1)),
    reason            TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX training_runs_started ON training_runs(started_at);

CREATE TABLE spotify_track_cache (
    track_id    TEXT PRIMARY KEY,
    payload     TEXT NOT NULL CHECK (json_valid(payload)),
    fetched_at  REAL NOT NULL
);
