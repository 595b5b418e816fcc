"""Delivery channels, each behind the Channel Protocol (interfaces.py)."""
