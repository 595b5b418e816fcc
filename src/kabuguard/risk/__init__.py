"""The pure risk core: typed events and pre-fetched signals in, an explainable Decision out.

Nothing here performs I/O or imports a web, storage or network framework; a contract test
(import-linter, see pyproject.toml) fails the build if anything does.
"""
