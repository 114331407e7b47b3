"""The store contract suite: every behavioural test runs against each backend (conftest.BACKENDS);
modules named test_sqlite_* hold what only the SQLite backend has (its file, WAL, PRAGMAs, migrations)."""
