"""Enrichment outside the pure core: IP → prefix, ASN, country and ASN class; user agent →
browser, OS, device type and automation. The results arrive in the core as typed facts."""
