"""learner profiles, category scores, ledger category; seed levels and achievement rules

Revision ID: 6c1d0e7a9b42
Revises: f41b62c38d96
Create Date: 2026-11-20 23:40:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6c1d0e7a9b42"
down_revision: str | None = "f41b62c38d96"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gamification"

LEVELS = [
    {"level": 1, "min_points": 0, "title_ru": "Новичок", "title_en": "Beginner"},
    {"level": 2, "min_points": 100, "title_ru": "Ученик", "title_en": "Apprentice"},
    {"level": 3, "min_points": 300, "title_ru": "Практик", "title_en": "Practitioner"},
    {"level": 4, "min_points": 700, "title_ru": "Мастер", "title_en": "Master"},
    {"level": 5, "min_points": 1500, "title_ru": "Эксперт", "title_en": "Expert"},
    {"level": 6, "min_points": 3000, "title_ru": "Гуру красоты", "title_en": "Beauty guru"},
]


def _rule(
    code: str,
    title: str,
    title_en: str,
    description: str,
    description_en: str,
    points: int,
    condition_type: str,
    condition_value: int,
    category: str | None = None,
) -> dict[str, object]:
    return {
        "code": code,
        "title": title,
        "title_en": title_en,
        "description": description,
        "description_en": description_en,
        "points": points,
        "condition_type": condition_type,
        "condition_value": condition_value,
        "category": category,
    }


ACHIEVEMENTS = [
    _rule("first_lesson", "Первый шаг", "First step",
          "Завершите первый урок.", "Complete your first lesson.", 10, "lessons_completed", 1),
    _rule("ten_lessons", "Усердный ученик", "Diligent learner",
          "Завершите 10 уроков.", "Complete 10 lessons.", 50, "lessons_completed", 10),
    _rule("first_course_completed", "Первый курс завершён", "First course completed",
          "Завершите свой первый курс.", "Complete your first course.", 50, "courses_completed", 1),
    _rule("three_courses", "Три курса", "Three courses",
          "Завершите три курса.", "Complete three courses.", 150, "courses_completed", 3),
    _rule("nail_master", "Мастер ногтей", "Nail master",
          "Завершите три курса по маникюру.", "Complete three manicure courses.",
          200, "category_courses_completed", 3, "manicure"),
    _rule("pedicure_master", "Мастер педикюра", "Pedicure master",
          "Завершите два курса по педикюру.", "Complete two pedicure courses.",
          150, "category_courses_completed", 2, "pedicure"),
    _rule("lash_master", "Мастер ресниц", "Lash master",
          "Завершите два курса по ресницам.", "Complete two eyelash courses.",
          150, "category_courses_completed", 2, "eyelashes"),
    _rule("podology_expert", "Знаток подологии", "Podology expert",
          "Завершите два курса по подологии.", "Complete two podology courses.",
          150, "category_courses_completed", 2, "podology"),
    _rule("brow_master", "Мастер бровей", "Brow master",
          "Завершите два курса по бровям.", "Complete two eyebrow courses.",
          150, "category_courses_completed", 2, "eyebrows"),
    _rule("marketing_pro", "Маркетолог", "Marketing pro",
          "Завершите два курса по рекламе и маркетингу.", "Complete two marketing courses.",
          150, "category_courses_completed", 2, "marketing"),
    _rule("business_owner", "Своё дело", "Business owner",
          "Завершите два курса о своём деле.", "Complete two courses on running your own business.",
          150, "category_courses_completed", 2, "business"),
    _rule("streak_3_days", "Три дня подряд", "Three days in a row",
          "Занимайтесь три дня подряд.", "Study three days in a row.", 30, "streak_days", 3),
    _rule("streak_7_days", "Неделя без пропусков", "A week without a break",
          "Занимайтесь семь дней подряд.", "Study seven days in a row.", 100, "streak_days", 7),
]


def upgrade() -> None:
    op.create_table(
        "learner_profiles",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("city_key", sa.String(length=100), nullable=True),
        sa.Column("profile_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_learner_profiles")),
        schema=SCHEMA,
    )
    op.create_index("ix_learner_profiles_city_key", "learner_profiles", ["city_key"], unique=False, schema=SCHEMA)
    op.create_table(
        "learner_category_scores",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("points", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "category", name=op.f("pk_learner_category_scores")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_learner_category_scores_category_points",
        "learner_category_scores",
        ["category", "points"],
        unique=False,
        schema=SCHEMA,
    )
    op.add_column("points_ledger", sa.Column("category", sa.String(length=100), nullable=True), schema=SCHEMA)
    # The city now lives in learner_profiles (fed by users events), not beside the derived totals.
    op.drop_column("learner_scores", "city", schema=SCHEMA)

    op.bulk_insert(sa.table("levels", *(sa.column(c) for c in LEVELS[0]), schema=SCHEMA), LEVELS)
    op.bulk_insert(sa.table("achievements", *(sa.column(c) for c in ACHIEVEMENTS[0]), schema=SCHEMA), ACHIEVEMENTS)


def downgrade() -> None:
    codes = ", ".join(f"'{a['code']}'" for a in ACHIEVEMENTS)
    op.execute(f"DELETE FROM {SCHEMA}.achievements WHERE code IN ({codes})")
    op.execute(f"DELETE FROM {SCHEMA}.levels WHERE level IN ({', '.join(str(lv['level']) for lv in LEVELS)})")
    op.add_column("learner_scores", sa.Column("city", sa.String(length=100), nullable=True), schema=SCHEMA)
    op.drop_column("points_ledger", "category", schema=SCHEMA)
    op.drop_index("ix_learner_category_scores_category_points", table_name="learner_category_scores", schema=SCHEMA)
    op.drop_table("learner_category_scores", schema=SCHEMA)
    op.drop_index("ix_learner_profiles_city_key", table_name="learner_profiles", schema=SCHEMA)
    op.drop_table("learner_profiles", schema=SCHEMA)
