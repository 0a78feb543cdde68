"""The refusals of the package module: a zip dwconf won't read, or a model it can't package."""

from __future__ import annotations

from dwconf.errors import DwconfError


class PackageError(DwconfError):
    """A solution zip could not be built or read; the message names the part and the reason."""


class UnsafeArchive(PackageError):
    """The zip is hostile or malformed: unsafe names, a zip bomb, entity expansion, …"""
