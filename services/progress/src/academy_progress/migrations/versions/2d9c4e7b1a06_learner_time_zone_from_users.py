"""learner_preferences: the users service's revision of the learner's time zone

The zone now comes from `users.user_registered.v2` / `users.profile_updated.v2`; `profile_revision`
keeps the revision applied, so a late event with an older one is ignored. Rows already there keep
their zone until the users service sends one (null: any revision replaces it).

Revision ID: 2d9c4e7b1a06
Revises: 8f1270563162
Create Date: 2026-11-30 12:30:00.000000

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '2d9c4e7b1a06'
down_revision: str | None = '8f1270563162'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('learner_preferences', sa.Column('profile_revision', sa.Integer(), nullable=True), schema='progress')
    op.create_check_constraint(op.f('ck_learner_preferences_profile_revision_positive'), 'learner_preferences', 'profile_revision IS NULL OR profile_revision > 0', schema='progress')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_learner_preferences_profile_revision_positive'), 'learner_preferences', schema='progress', type_='check')
    op.drop_column('learner_preferences', 'profile_revision', schema='progress')
