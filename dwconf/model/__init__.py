"""pydantic models of the configuration files (config-format.md); no I/O here."""

from dwconf.model.environment import Environment
from dwconf.model.settings import Settings
from dwconf.model.solution import Solution
from dwconf.model.tablemap import Direction, FieldMapping, TableMap

__all__ = ["Direction", "Environment", "FieldMapping", "Settings", "Solution", "TableMap"]
