"""learner_profiles.profile_revision: the users service's revision of the profile held

Rows already there came from v1 events and have none (null): until a v2 event with a revision arrives
they are compared by `profile_at`, as before.

Revision ID: a83f5d2c7e19
Revises: 6c1d0e7a9b42
Create Date: 2026-11-30 13:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a83f5d2c7e19"
down_revision: str | None = "6c1d0e7a9b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gamification"


def upgrade() -> None:
    op.add_column("learner_profiles", sa.Column("profile_revision", sa.Integer(), nullable=True), schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_learner_profiles_profile_revision_positive"),
        "learner_profiles",
        "profile_revision IS NULL OR profile_revision > 0",
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_learner_profiles_profile_revision_positive"), "learner_profiles", schema=SCHEMA, type_="check"
    )
    op.drop_column("learner_profiles", "profile_revision", schema=SCHEMA)
