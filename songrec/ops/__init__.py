"""Running songrec: structured logging, metrics, and the status report."""
