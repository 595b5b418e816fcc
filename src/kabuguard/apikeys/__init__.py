"""API keys for calling systems: shown once, stored as a keyed hash, scoped."""
