"""State the rules read: locks, restrictions, lists, reference data — behind Protocols."""
