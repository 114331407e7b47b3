"""Exceptions the catalogue raises: each message says what went wrong and what to do about it."""

from __future__ import annotations


class CatalogError(Exception):
    """A catalogue file could not be used (bad rows in strict mode, unknown schema, bad download)."""


class CatalogNotFound(CatalogError):
    """No catalogue could be found or fetched; the message lists the ways to provide one."""


class CatalogDownloadError(CatalogError):
    """A download finished but its content cannot be trusted (hash mismatch, unreadable file)."""
