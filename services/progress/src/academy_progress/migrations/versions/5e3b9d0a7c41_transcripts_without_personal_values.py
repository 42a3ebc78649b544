"""transcripts without personal values: the learner's name leaves `user_transcripts` (issue 10)

QA found `transcript_data` holding `"full_name": ...` in plain jsonb: a copy of the name outside the users
service, which alone keeps it (encrypted). From this release progress reads the name (and the avatar) from
the users service when it renders and keeps only a keyed digest of what the PDF shows; this migration
removes from the rows already stored what the new ones no longer hold: `full_name`, `avatar` (a plain
SHA-256 of the learner's picture) and `timezone` (already in `learner_preferences`). The stored `digest`
no longer matches the keyed one, so each transcript is rendered once more at its next request (the
learner's PDFs in S3 are theirs, and go with an erasure).

Downgrade restores nothing: the values are gone, and the previous release renders anew when a row's
digest differs.

Revision ID: 5e3b9d0a7c41
Revises: cc5998005614
Create Date: 2026-12-09 10:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e3b9d0a7c41"
down_revision: str | None = "cc5998005614"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE progress.user_transcripts "
        "SET transcript_data = transcript_data - ARRAY['full_name', 'avatar', 'timezone'] "
        "WHERE transcript_data ?| ARRAY['full_name', 'avatar', 'timezone']"
    )


def downgrade() -> None:
    pass
