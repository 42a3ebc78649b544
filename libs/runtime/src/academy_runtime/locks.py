"""Transaction-scoped PostgreSQL advisory locks: work on one thing, one transaction at a time.

Handlers that derive state from rows (totals recomputed from a ledger, an enrolment that a purchase
adds and a refund removes) go wrong when two transactions of the same learner run side by side: each
misses the other's uncommitted rows. Holding a lock per learner until the transaction ends makes them
take turns, and each then reads everything its predecessors committed (READ COMMITTED takes a
snapshot per statement). The lock goes with the commit or the rollback; nothing has to release it.

Two forms, whose keys never meet (PostgreSQL keeps one-key and two-key locks apart):

- `AdvisoryLock(space).hold(session, key)`: one lock per integer key (an `Integer` id, a learner)
  within a space, PostgreSQL's two-key form `pg_advisory_xact_lock(space, key)`. A space is one kind
  of lock; the services' databases may be one, so each kind of lock on the platform has its own
  space (gamification's learners 0x6A4D, progress's learner purchases 0x5052).
- `hold_named_lock(session, name)`: one lock per name (`"catalog:demo"`,
  `f"notify:{user_id}:{kind}"`), `pg_advisory_xact_lock(hashtextextended(name, 0))`. Start the name
  with the service or the purpose so that two kinds cannot pick the same one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Integer, Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from academy_runtime.db import transaction_local

_INT32 = range(-(2**31), 2**31)

# Built once: a statement built per call costs its construction and cache key on every lock (a
# third of a millisecond of CPU; the pipeline bench takes one per event).
_TWO_KEY_LOCK = select(func.pg_advisory_xact_lock(bindparam("space", type_=Integer), bindparam("key", type_=Integer)))
_KEYS = bindparam("keys", type_=ARRAY(Integer))
_EACH_KEY = func.unnest(_KEYS).table_valued("key").render_derived(name="keys")
# One statement for many keys, taken in the order of the array (unnest keeps it; the caller sorts it).
_TWO_KEY_LOCKS = select(func.pg_advisory_xact_lock(bindparam("space", type_=Integer), _EACH_KEY.c.key)).select_from(
    _EACH_KEY
)
_NAMED = func.hashtextextended(bindparam("name", type_=Text), 0)
_NAMED_LOCK = select(func.pg_advisory_xact_lock(_NAMED))
_NAMED_LOCK_SHARED = select(func.pg_advisory_xact_lock_shared(_NAMED))


@dataclass(frozen=True)
class AdvisoryLock:
    """One kind of lock, one lock per int32 key; `space` is the first of PostgreSQL's two keys."""

    space: int

    def __post_init__(self) -> None:
        if self.space not in _INT32:
            raise ValueError(f"an advisory lock space is a 32-bit integer, not {self.space}")

    async def hold(self, session: AsyncSession, key: int) -> None:
        """Wait for, then hold until the session's transaction ends, the lock on `key` (an int32).

        A key this transaction already holds (`hold_all`, or an earlier `hold`) costs no statement: the
        lock is re-entrant within a transaction, so asking again would change nothing. Raises ValueError
        for a key outside int32."""
        if key not in _INT32:
            raise ValueError(f"an advisory lock key is a 32-bit integer, not {key}")
        held = self._held(session)
        if key in held:
            return
        await session.execute(_TWO_KEY_LOCK, {"space": self.space, "key": key})
        held.add(key)

    async def hold_all(self, session: AsyncSession, keys: Iterable[int]) -> None:
        """`hold` every key of `keys`, in one statement, in ascending order: two transactions that take
        their keys this way never wait for each other in a cycle (no deadlock). For a batch of events
        (`academy_runtime.consumer.Consumer`'s `prepare_batch`). Raises ValueError as `hold` does."""
        held = self._held(session)
        wanted = sorted({key for key in keys if key not in held})
        for key in wanted:
            if key not in _INT32:
                raise ValueError(f"an advisory lock key is a 32-bit integer, not {key}")
        if not wanted:
            return
        await session.execute(_TWO_KEY_LOCKS, {"space": self.space, "keys": wanted})
        held.update(wanted)

    def _held(self, session: AsyncSession) -> set[int]:
        """The keys of this space held in the session's current transaction (a savepoint's rollback keeps
        advisory locks: they end with the whole transaction only)."""
        return transaction_local(session, f"academy_runtime.advisory_locks:{self.space}", set)


async def hold_named_lock(session: AsyncSession, name: str, *, shared: bool = False) -> None:
    """Wait for, then hold until the session's transaction ends, the lock called `name`.

    `shared=True` takes it in shared mode (`pg_advisory_xact_lock_shared`): any number of shared holders
    at once, none while someone holds it exclusively — readers that must not overlap a writer (a
    notification being sent while the learner is erased) without queueing behind one another. A
    transaction's own locks never conflict with each other, so it may hold both modes of one name.
    """
    await session.execute(_NAMED_LOCK_SHARED if shared else _NAMED_LOCK, {"name": name})
