"""The transcript as a PDF: reportlab with Roboto, because reportlab's built-in fonts have no Cyrillic."""

from __future__ import annotations

import io
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import font_roboto
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

# Part of the transcript's digest: a change of layout renders every transcript again.
RENDERER_VERSION = "1"

CATEGORY_TITLES = {
    "manicure": "Маникюр",
    "pedicure": "Педикюр",
    "eyelashes": "Ресницы",
    "podology": "Подология",
    "eyebrows": "Брови",
    "marketing": "Реклама и маркетинг",
    "business": "Своё дело",
}


@cache
def _register_fonts() -> tuple[str, str]:
    files = Path(font_roboto.__file__).parent / "files"
    pdfmetrics.registerFont(TTFont("Roboto", str(files / "Roboto-Regular.ttf")))
    pdfmetrics.registerFont(TTFont("Roboto-Bold", str(files / "Roboto-Bold.ttf")))
    return "Roboto", "Roboto-Bold"


def _date(value: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(value).astimezone(zone).strftime("%d.%m.%Y")


def render_transcript_pdf(data: dict[str, Any]) -> bytes:
    """Render `data` (see `transcripts.service`): the learner, then one row per completed course and the total."""
    regular, bold = _register_fonts()
    zone = ZoneInfo(data["timezone"])
    title_style = ParagraphStyle("title", fontName=bold, fontSize=18, leading=22, spaceAfter=4 * mm)
    text_style = ParagraphStyle("text", fontName=regular, fontSize=10, leading=13)
    cell_style = ParagraphStyle("cell", fontName=regular, fontSize=9, leading=11)

    learner = data.get("full_name") or f"Учащийся №{data['user_id']}"
    story: list[Any] = [
        Paragraph("Beauty Academy — выписка об обучении", title_style),
        Paragraph(f"Учащийся: {learner}", text_style),
        Paragraph(f"Завершено курсов: {len(data['courses'])}; всего часов: {data['total_hours']}", text_style),
        Spacer(1, 6 * mm),
    ]
    rows: list[list[Any]] = [["Курс", "Категория", "Начат", "Завершён", "Часов"]]
    for course in data["courses"]:
        category = course["category"] or ""
        rows.append(
            [
                Paragraph(course["title"] or f"Курс №{course['course_id']}", cell_style),
                Paragraph(CATEGORY_TITLES.get(category, category), cell_style),
                _date(course["enrolled_at"], zone),
                _date(course["completed_at"], zone),
                "" if course["duration_hours"] is None else str(course["duration_hours"]),
            ]
        )
    rows.append(["Итого", "", "", "", str(data["total_hours"])])
    table = Table(rows, colWidths=[70 * mm, 35 * mm, 24 * mm, 24 * mm, 17 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), regular),
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("FONTNAME", (0, -1), (-1, -1), bold),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3e5f5")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (-1, 0), (-1, -1), "RIGHT"),
            ]
        )
    )
    story.append(table)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title="Выписка об обучении",
        author="Beauty Academy",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    document.build(story)
    return buffer.getvalue()
