"""kabuguard: account-takeover defence for online securities brokerages."""

__version__ = "0.1.0"
