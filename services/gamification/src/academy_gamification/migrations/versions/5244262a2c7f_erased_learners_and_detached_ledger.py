"""erased_learners (a tombstone of ids) and ledger rows that outlive their learner, detached from them

An erasure (`users.user_erased`) used to forget the name and city only, keeping the profile row with
`erased_at` as the mark that stops late events. Now everything about the learner goes, except their
points in the ledger, which stay for the platform's totals but belong to nobody (issue 10):

- `erased_learners (user_id)`: the mark, the id alone;
- `points_ledger.user_id` becomes nullable: a detached row has none;
- learners erased before this revision get the same treatment now: their totals, category scores,
  streaks, achievements, lesson and course completions, profile row and outbox events are deleted, and
  their ledger rows detached (`award_key` `erased:<id>`, no `source_event_id`, `created_at` cut to
  its UTC day). The worker rebuilds every leaderboard in Redis from PostgreSQL when it starts, which
  takes them off the cached boards too;
- `learner_profiles.erased_at` goes.

Written out here rather than calling the service's code: this step must do tomorrow what it does today.

The downgrade gives every erased learner back the profile row the previous release marks erasures with
(no name or city, `erased_at` now). It restores `points_ledger.user_id NOT NULL` only when no row is
detached: the people behind detached rows are unknown by design, and deleting the rows would change the
platform's totals; the previous release never reads a row by a null id, so it works with the column
left nullable.

Revision ID: 5244262a2c7f
Revises: e2a7c4b91d05
Create Date: 2026-12-02 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5244262a2c7f"
down_revision: str | None = "e2a7c4b91d05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gamification"
_ERASED = f"SELECT user_id FROM {SCHEMA}.erased_learners"
_PER_LEARNER_TABLES = (
    "learner_scores",
    "learner_category_scores",
    "streaks",
    "user_achievements",
    "lesson_completions",
    "course_completions",
    "learner_profiles",
)


def upgrade() -> None:
    op.create_table(
        "erased_learners",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_erased_learners")),
        schema=SCHEMA,
    )
    op.alter_column("points_ledger", "user_id", existing_type=sa.Integer(), nullable=True, schema=SCHEMA)

    op.execute(
        f"INSERT INTO {SCHEMA}.erased_learners (user_id)"
        f" SELECT user_id FROM {SCHEMA}.learner_profiles WHERE erased_at IS NOT NULL"
    )
    op.execute(
        f"UPDATE {SCHEMA}.points_ledger SET user_id = NULL, award_key = 'erased:' || id, source_event_id = NULL,"
        f" created_at = date_trunc('day', created_at, 'UTC') WHERE user_id IN ({_ERASED})"
    )
    for table in _PER_LEARNER_TABLES:
        op.execute(f"DELETE FROM {SCHEMA}.{table} WHERE user_id IN ({_ERASED})")
    # Every event gamification publishes is about one learner, whose id is its partition key.
    op.execute(f"DELETE FROM {SCHEMA}.outbox WHERE partition_key IN (SELECT user_id::text FROM {SCHEMA}.erased_learners)")

    op.drop_column("learner_profiles", "erased_at", schema=SCHEMA)


def downgrade() -> None:
    op.add_column("learner_profiles", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.execute(
        f"INSERT INTO {SCHEMA}.learner_profiles (user_id, profile_at, erased_at)"
        f" SELECT user_id, now(), now() FROM {SCHEMA}.erased_learners ON CONFLICT (user_id) DO NOTHING"
    )
    detached = op.get_bind().execute(
        sa.text(f"SELECT EXISTS (SELECT 1 FROM {SCHEMA}.points_ledger WHERE user_id IS NULL)")
    ).scalar()
    if not detached:
        op.alter_column("points_ledger", "user_id", existing_type=sa.Integer(), nullable=False, schema=SCHEMA)
    op.drop_table("erased_learners", schema=SCHEMA)
