"""The hosted pages: login, enrolment, security centre, signing confirmation (ja/en)."""
