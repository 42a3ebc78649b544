"""stable codes for scripted courses and communities; enrolments seen, for the course of the month

Revision ID: 7c2e4d1a9b30
Revises: 1833633f5216
Create Date: 2026-11-20 23:40:00.000000

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa

revision: str = '7c2e4d1a9b30'
down_revision: str | None = '1833633f5216'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('courses', sa.Column('code', sa.String(length=100), nullable=True), schema='catalog')
    op.create_unique_constraint(op.f('uq_courses_code'), 'courses', ['code'], schema='catalog')
    op.add_column('communities', sa.Column('code', sa.String(length=100), nullable=True), schema='catalog')
    op.create_unique_constraint(op.f('uq_communities_code'), 'communities', ['code'], schema='catalog')
    op.create_table('course_enrolments',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'course_id', name=op.f('pk_course_enrolments')),
    schema='catalog'
    )
    op.create_index('ix_course_enrolments_enrolled_at', 'course_enrolments', ['enrolled_at', 'course_id'], unique=False, schema='catalog')


def downgrade() -> None:
    op.drop_index('ix_course_enrolments_enrolled_at', table_name='course_enrolments', schema='catalog')
    op.drop_table('course_enrolments', schema='catalog')
    op.drop_constraint(op.f('uq_communities_code'), 'communities', schema='catalog', type_='unique')
    op.drop_column('communities', 'code', schema='catalog')
    op.drop_constraint(op.f('uq_courses_code'), 'courses', schema='catalog', type_='unique')
    op.drop_column('courses', 'code', schema='catalog')
