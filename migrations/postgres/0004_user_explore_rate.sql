-- songrec schema, version 4, in PostgreSQL's dialect (the SQLite file is ../0004_user_explore_rate.sql):
-- a listener's own explore share, NULL until they choose one. Same column and constraint as SQLite's.

ALTER TABLE users ADD COLUMN explore_rate DOUBLE PRECISION
    CHECK (explore_rate IS NULL OR (explore_rate >= 0.0 AND explore_rate <= 1.0));
