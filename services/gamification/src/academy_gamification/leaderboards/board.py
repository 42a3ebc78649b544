"""Which leaderboard, and a slice of it: ranks are 1-based, ties go to the smaller user id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["overall", "city", "category"]


@dataclass(frozen=True)
class Board:
    scope: Scope
    # The city key (see `learners.service.city_key`) or the category slug; None for the overall board.
    value: str | None = None


OVERALL = Board("overall")


@dataclass(frozen=True)
class RankedEntry:
    rank: int
    user_id: int
    points: int


@dataclass
class BoardSlice:
    top: list[RankedEntry] = field(default_factory=list)
    me: RankedEntry | None = None
    neighbours: list[RankedEntry] = field(default_factory=list)

    @classmethod
    def from_ranked(cls, entries: list[RankedEntry], *, limit: int, user_id: int | None) -> BoardSlice:
        """Cut the top, me and my neighbours out of entries that contain at least them, by rank."""
        by_rank = {entry.rank: entry for entry in entries}
        top = [by_rank[rank] for rank in sorted(by_rank) if rank <= limit]
        me = next((entry for entry in entries if entry.user_id == user_id), None)
        neighbours = []
        if me is not None:
            neighbours = [by_rank[rank] for rank in (me.rank - 1, me.rank + 1) if rank in by_rank]
        return cls(top=top, me=me, neighbours=neighbours)

    def user_ids(self) -> set[int]:
        return {entry.user_id for entry in (*self.top, *self.neighbours, *([self.me] if self.me else []))}
