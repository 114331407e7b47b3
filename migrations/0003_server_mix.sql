-- songrec schema, version 3: the server's monthly mix and /charts.
--
--   1. guild_settings gains the mix switch and the channel the mix is posted to;
--   2. server_mixes holds one row per (guild, month), claimed in one transaction BEFORE the mix is
--      posted, so a restart or a second bot process never posts a month twice;
--   3. an index for reading the votes given in one guild over a time span (/charts, the mix).
-- Votes already carry the guild they were given in (feedback.guild_id, since version 1).

-- 1. guild_settings ------------------------------------------------------------------------------

ALTER TABLE guild_settings ADD COLUMN mix_enabled INTEGER NOT NULL DEFAULT 0 CHECK (mix_enabled IN (0, 1));
ALTER TABLE guild_settings ADD COLUMN mix_channel_id INTEGER;

-- 2. server_mixes --------------------------------------------------------------------------------

CREATE TABLE server_mixes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id      INTEGER NOT NULL,
    month         TEXT    NOT NULL CHECK (length(month) = 7),   -- "2026-11" (UTC)
    title         TEXT    NOT NULL,
    summary       TEXT    NOT NULL,
    listeners     INTEGER NOT NULL CHECK (listeners >= 0),
    likes         INTEGER NOT NULL CHECK (likes >= 0),
    top_artists   TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(top_artists)),
    tracks        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tracks)),  -- [[track id, likes], ...]
    channel_id    INTEGER,
    message_id    INTEGER,                       -- set once posted
    playlist_url  TEXT,                          -- set by the first Spotify export
    claimed_at    REAL,                          -- NULL: a failed post released it
    posted_at     REAL
);
CREATE UNIQUE INDEX server_mixes_one_per_month ON server_mixes(guild_id, month);

-- 3. votes by guild and time ---------------------------------------------------------------------

CREATE INDEX feedback_guild_created ON feedback(guild_id, created_at) WHERE guild_id IS NOT NULL;
