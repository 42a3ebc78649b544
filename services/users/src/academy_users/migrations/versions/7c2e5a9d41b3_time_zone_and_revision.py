"""learners' time zone (and where it comes from) and a profile revision

Learners registered before get the default zone (`Europe/Moscow`, the settings' default) with
`time_zone_source = 'default'`, and revision 1. `academy-users derive-time-zones` then derives the
zone of every such learner from their city and publishes the change.

Revision ID: 7c2e5a9d41b3
Revises: 03189e11a504
Create Date: 2026-11-30 12:00:00.000000

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '7c2e5a9d41b3'
down_revision: str | None = '03189e11a504'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server defaults fill the rows already there; the service always writes its own values.
    op.add_column('users', sa.Column('time_zone', sa.String(length=64), server_default=sa.text("'Europe/Moscow'"), nullable=False), schema='users')
    op.add_column('users', sa.Column('time_zone_source', sa.String(length=16), server_default=sa.text("'default'"), nullable=False), schema='users')
    op.add_column('users', sa.Column('revision', sa.Integer(), server_default=sa.text('1'), nullable=False), schema='users')
    op.create_check_constraint(op.f('ck_users_time_zone_source_known'), 'users', "time_zone_source IN ('learner', 'city', 'default')", schema='users')
    op.create_check_constraint(op.f('ck_users_revision_positive'), 'users', 'revision > 0', schema='users')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_users_revision_positive'), 'users', schema='users', type_='check')
    op.drop_constraint(op.f('ck_users_time_zone_source_known'), 'users', schema='users', type_='check')
    op.drop_column('users', 'revision', schema='users')
    op.drop_column('users', 'time_zone_source', schema='users')
    op.drop_column('users', 'time_zone', schema='users')
