"""A Jira site's priorities, in the site's order: `PriorityOrder`.

Jira's priorities are the site's, not Jira's: Cloud ships "Highest, High, Medium, Low,
Lowest", a Data Center site may call them "P1, P2, P3, P4". They have an order, which an
admin changes (`PUT /rest/api/3/priority/move`: "Changes the order of issue priorities"),
and `GET /rest/api/{2,3}/priority` lists them in it (highest first, as catalog/site.py keeps
them); so does this type. A priority's name "must be unique" (CreatePriorityDetails.name in
Jira's OpenAPI, at most 60 characters). Names are compared exactly, as the gateway's site
check compares an action's values (catalog/site.py): "p1" is not "P1". Two names that differ
only in case are refused in one order: matching them apart by case would be fragile, and a
declared order with both is far likelier a typo.

Pure (standard library only): the policy engine, the edit rules and the gateway share it.
What a name that is not in the order means is each caller's decision, and every caller
decides it against the agent (docs/policies.md "Priorities", docs/approvals.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

#: Jira Cloud's default priority scheme, highest first.
JIRA_DEFAULT_NAMES: Final = ("Highest", "High", "Medium", "Low", "Lowest")


class PriorityOrderError(ValueError):
    """A list of names that is no priority order (empty, blank or repeated names)."""


@dataclass(frozen=True, slots=True)
class PriorityOrder:
    """The site's priorities, highest first. `level` is the rank: the highest has the
    largest level, the lowest level 1; a name not in the order has none."""

    names: tuple[str, ...]
    _levels: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        names = tuple(self.names)
        if not names:
            raise PriorityOrderError("a priority order needs at least one priority")
        seen: dict[str, str] = {}
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise PriorityOrderError(f"a priority is a non-blank name, not {name!r}")
            if name.casefold() in seen:
                raise PriorityOrderError(
                    f"priority {name!r} is listed twice (as {seen[name.casefold()]!r}); "
                    "Jira names each priority once, whatever its case"
                )
            seen[name.casefold()] = name
        object.__setattr__(self, "names", names)
        levels = {name: len(names) - index for index, name in enumerate(names)}
        object.__setattr__(self, "_levels", levels)

    @classmethod
    def of(cls, names: Iterable[str]) -> PriorityOrder:
        return cls(tuple(names))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._levels

    @property
    def highest(self) -> str:
        return self.names[0]

    @property
    def lowest(self) -> str:
        return self.names[-1]

    def level(self, name: object) -> int | None:
        """The rank of a name (the lowest is 1, the highest `len(self)`), None if it is not
        one of the site's priorities (any other text, another case, not a string)."""
        return self._levels.get(name) if isinstance(name, str) else None

    def index(self, name: str) -> int:
        """Its position, highest first; ValueError naming the valid ones when unknown."""
        level = self.level(name)
        if level is None:
            raise ValueError(f"{name!r} is not a priority of this site ({self.describe()})")
        return len(self.names) - level

    def at_or_below(self, name: str) -> tuple[str, ...]:
        """The name and every lower one (what a reviewer may lower it to); () if unknown."""
        level = self.level(name)
        return () if level is None else self.names[len(self.names) - level :]

    def at_least(self, name: str) -> tuple[str, ...]:
        """The name and every higher one; () if unknown."""
        level = self.level(name)
        return () if level is None else self.names[: len(self.names) - level + 1]

    def is_lower_or_same(self, before: str, after: str) -> bool | None:
        """Whether `after` is `before` or lower; None when either is not in the order."""
        was, now = self.level(before), self.level(after)
        if was is None or now is None:
            return None
        return now <= was

    def describe(self) -> str:
        """ "Highest > High > Medium > Low > Lowest": for messages."""
        return " > ".join(self.names)

    def unknown_message(self, name: object) -> str:
        return f"{name!r} is not one of the priorities {', '.join(self.names)}"


#: The order every policy set has unless it declares its site's (`priorities:`).
JIRA_PRIORITIES: Final = PriorityOrder(JIRA_DEFAULT_NAMES)


__all__ = ["JIRA_DEFAULT_NAMES", "JIRA_PRIORITIES", "PriorityOrder", "PriorityOrderError"]
