"""audit log of operators' changes to the catalog

Revision ID: b4d9e2f7a1c3
Revises: 7c2e4d1a9b30
Create Date: 2026-12-02 10:00:00.000000

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = 'b4d9e2f7a1c3'
down_revision: str | None = '7c2e4d1a9b30'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    schema='catalog'
    )
    op.create_index('ix_audit_log_actor_created_at', 'audit_log', ['actor', 'created_at'], unique=False, schema='catalog')


def downgrade() -> None:
    op.drop_index('ix_audit_log_actor_created_at', table_name='audit_log', schema='catalog')
    op.drop_table('audit_log', schema='catalog')
