"""Where a user's gateway sign-in is kept between runs: msal's token cache, persisted with
msal-extensions in the user's cache folder, one file per environment (authority, client and
gateway), so each environment keeps the account that signed in to it.

Encrypted where the platform allows (Windows DPAPI, the macOS keychain, libsecret on Linux);
where it does not (Linux without PyGObject or a running keyring, as on servers and in
containers) a plain JSON file that only its owner can read: the folder is 0700 and the file
0600. `TokenCache.encrypted` says which, and `dwconf login` tells the user.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msal_extensions

CACHE_VARIABLE = "DWCONF_CACHE_DIR"
FOLDER = "signin"


@dataclass(frozen=True)
class TokenCache:
    """msal's cache for one environment and where it lives."""

    path: Path
    encrypted: bool
    cache: Any  # msal_extensions.PersistedTokenCache (untyped)


def cache_root(environ: Mapping[str, str]) -> Path:
    """The user's cache folder for dwconf: `$DWCONF_CACHE_DIR`, else the platform's."""
    if environ.get(CACHE_VARIABLE):
        return Path(environ[CACHE_VARIABLE])
    if sys.platform.startswith("win"):
        base = environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "dwconf"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "dwconf"
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dwconf"


def cache_path(environ: Mapping[str, str], authority: str, client_id: str, gateway: str) -> Path:
    """The cache file of one environment's sign-in (named by a digest, not by the URLs)."""
    key = f"{authority.lower()}|{client_id.lower()}|{gateway.lower()}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return cache_root(environ) / FOLDER / f"gateway-{digest}.json"


def _private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)


def _plain(path: Path) -> Any:
    """A plain file only its owner can read (created so before anything is written to it)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    return msal_extensions.FilePersistence(str(path))


def open_cache(path: Path) -> TokenCache:
    """The persisted cache at `path`: encrypted when the platform can, else a private file."""
    _private_folder(path.parent)
    try:
        persistence = msal_extensions.build_encrypted_persistence(str(path))
        encrypted = True
    except (ImportError, RuntimeError, OSError):
        # No keyring here (PyGObject or a keyring daemon missing): the documented fallback.
        persistence, encrypted = _plain(path), False
    cache = msal_extensions.PersistedTokenCache(persistence)
    return TokenCache(path, encrypted, cache)


def forget(path: Path) -> bool:
    """Remove a sign-in's cache (and msal-extensions' lock file); True when there was one."""
    found = False
    for leftover in (path, path.with_name(path.name + ".lockfile")):
        if leftover.exists():
            leftover.unlink()
            found = True
    return found
