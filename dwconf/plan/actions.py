"""The closed vocabulary of a plan: actions (with their display symbols) and categories."""

from __future__ import annotations

import enum
import functools


class Action(enum.Enum):
    """What happens to one address; the value is the symbol the text renderer shows."""

    CREATE = "+"
    UPDATE = "~"
    REPLACE = "-/+"
    DELETE = "-"

    @property
    def word(self) -> str:
        return self.name.lower()


@functools.total_ordering
class Category(enum.Enum):
    """The side effect of a change, ordered by severity (ARCHITECTURE §1).

    `start` sits between `metadata` and `restart`: a map begins live sync (a new map without an
    initial sync, a stopped map started, a paused one resumed); nothing that runs is interrupted.
    """

    METADATA = "metadata"
    START = "start"
    RESTART = "restart"
    INITIAL_SYNC = "initial_sync"
    DESTRUCTIVE = "destructive"

    @property
    def rank(self) -> int:
        return list(Category).index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Category):
            return NotImplemented
        return self.rank < other.rank


def worst(categories: list[Category], default: Category = Category.METADATA) -> Category:
    return max(categories, default=default)
