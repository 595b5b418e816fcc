"""Customer authentication: passwords, passkeys, one-time codes, sessions, locks, signing."""
