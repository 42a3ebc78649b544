"""learners: the users revision each row reflects, and the learner's time zone

Revision ID: 5c1e2a7f9d40
Revises: bf35bd7e7cb0
Create Date: 2026-11-30 07:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5c1e2a7f9d40'
down_revision: str | None = 'bf35bd7e7cb0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('learners', sa.Column('time_zone', sa.String(length=64), nullable=True), schema='gateway_bot')
    op.add_column('learners', sa.Column('revision', sa.BigInteger(), nullable=True), schema='gateway_bot')


def downgrade() -> None:
    op.drop_column('learners', 'revision', schema='gateway_bot')
    op.drop_column('learners', 'time_zone', schema='gateway_bot')
