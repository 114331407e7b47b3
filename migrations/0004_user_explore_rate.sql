-- songrec schema, version 4: a listener's own explore share.
--
-- users gains explore_rate: the share of a "from your taste" answer that explores the edge of the
-- listener's taste, as they chose it (/settings in Discord, /explore in chat). NULL means they never
-- chose (or went back to the default): their server's share, else the service default, applies. The
-- service allows 0 to 0.5 for a listener; the column checks the wider 0..1 every explore share obeys,
-- so a later change of the listener's limit needs no table rebuild.

ALTER TABLE users ADD COLUMN explore_rate REAL
    CHECK (explore_rate IS NULL OR (explore_rate >= 0.0 AND explore_rate <= 1.0));
