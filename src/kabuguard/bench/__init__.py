"""Benchmark tooling: a lightweight HTTP/1.1 load generator for measuring the service."""
