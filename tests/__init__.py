"""The test suite, as a package: every helper is imported as `tests.support.<module>`."""
