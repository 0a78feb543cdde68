"""dwconf: declarative GitOps configuration manager for Dynamics 365 dual-write."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dwconf")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
