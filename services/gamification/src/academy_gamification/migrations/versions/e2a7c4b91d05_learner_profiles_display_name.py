"""learner_profiles: a display name instead of the full name, and the choice to appear anonymously

`display_name` («Анна П.») is derived from the stored full name, then `full_name` is dropped: the
leaderboards show no more than that, and gamification keeps no more (issue 10). The rule is the one
gamification applied to v2 events when this revision was written (`display_name` below, a frozen copy):
since the users service publishes the display name itself (`users.user_registered.v3`), gamification
has no rule of its own any more, and this step must keep doing what it did.

The downgrade cannot bring the full names back: `full_name` returns holding the display names, and the
next profile event of each learner fills it again.

Revision ID: e2a7c4b91d05
Revises: 9de9081907bb
Create Date: 2026-11-30 10:30:00.000000

"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e2a7c4b91d05"
down_revision: str | None = "9de9081907bb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gamification"
_BATCH = 1000
DISPLAY_NAME_MAX_LENGTH = 64
FIRST_NAME_MAX_LENGTH = DISPLAY_NAME_MAX_LENGTH - 4


def display_name(full_name: str | None) -> str | None:
    """The first word of `full_name` and the initial of its last word with a dot: «Анна Петрова» →
    «Анна П.»; a single word stays as is; None when nothing is left. NFC-normalised, control and format
    characters dropped, the first name cut to `FIRST_NAME_MAX_LENGTH` (with "…"). Frozen: the rule of
    `learners.names` at this revision (the users service's `accounts.names` carries it on)."""
    if full_name is None:
        return None
    cleaned = "".join(
        " " if char.isspace() else char
        for char in unicodedata.normalize("NFC", full_name)
        if char.isspace() or unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )
    words = [word.strip("-.,") for word in cleaned.split()]
    words = [word for word in words if word]
    if not words:
        return None
    first = words[0] if len(words[0]) <= FIRST_NAME_MAX_LENGTH else words[0][: FIRST_NAME_MAX_LENGTH - 1] + "…"
    if len(words) == 1:
        return first
    initial = _initial(words[-1])
    return f"{first} {initial}." if initial else first


def _initial(word: str) -> str:
    """The first letter (or digit) of `word` with the combining marks that follow it."""
    for index, char in enumerate(word):
        if char.isalnum():
            marks = ""
            for mark in word[index + 1 :]:
                if not unicodedata.combining(mark):
                    break
                marks += mark
            upper = char.upper()
            return (upper if len(upper) == 1 else char) + marks
    return ""


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
