"""learner_profiles: a display name instead of the full name, and the choice to appear anonymously

`display_name` («Анна П.») is derived from the stored full name, then `full_name` is dropped: the
leaderboards show no more than that, and gamification keeps no more (issue 10). The rule is today's
`learners.names.display_name`, imported rather than copied: a database upgraded through this revision
later gets the rule the service applies to new events then, which is the one its rows should follow.

The downgrade cannot bring the full names back: `full_name` returns holding the display names, and the
next profile event of each learner fills it again.

Revision ID: e2a7c4b91d05
Revises: 9de9081907bb
Create Date: 2026-11-30 10:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from academy_gamification.learners.names import display_name

revision: str = "e2a7c4b91d05"
down_revision: str | None = "9de9081907bb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gamification"
_BATCH = 1000


def upgrade() -> None:
    op.add_column("learner_profiles", sa.Column("display_name", sa.String(length=64), nullable=True), schema=SCHEMA)
    op.add_column(
        "learner_profiles",
        sa.Column("leaderboard_anonymous", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema=SCHEMA,
    )
    profiles = sa.table(
        "learner_profiles",
        sa.column("user_id", sa.Integer),
        sa.column("full_name", sa.String),
        sa.column("display_name", sa.String),
        schema=SCHEMA,
    )
    connection = op.get_bind()
    last_user_id = -1
    while True:
        rows = connection.execute(
            sa.select(profiles.c.user_id, profiles.c.full_name)
            .where(profiles.c.user_id > last_user_id, profiles.c.full_name.is_not(None))
            .order_by(profiles.c.user_id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for user_id, full_name in rows:
            connection.execute(
                profiles.update().where(profiles.c.user_id == user_id).values(display_name=display_name(full_name))
            )
        last_user_id = rows[-1].user_id
    op.drop_column("learner_profiles", "full_name", schema=SCHEMA)


def downgrade() -> None:
    op.add_column("learner_profiles", sa.Column("full_name", sa.String(length=255), nullable=True), schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.learner_profiles SET full_name = display_name")
    op.drop_column("learner_profiles", "leaderboard_anonymous", schema=SCHEMA)
    op.drop_column("learner_profiles", "display_name", schema=SCHEMA)
