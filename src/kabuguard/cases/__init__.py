"""Cases, holds and customer product restrictions, served to staff (API and CLI)."""
