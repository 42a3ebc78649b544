"""The transcript as a PDF (reportlab), in the learner's language, with a font for every character.

Every text, fixed or the learner's, goes through `TranscriptFonts.markup` (see `transcripts.fonts`):
a name in Armenian or a course title with an emoji is drawn by a font that has it, never as boxes.
The learner's avatar, when given, is drawn beside the heading (reportlab reads WEBP through Pillow).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from academy_progress.transcripts.fonts import TranscriptFonts, base_font
from academy_progress.transcripts.texts import DEFAULT_LANGUAGE, Localizer, resolve_language

# Part of the transcript's digest: a change of layout renders every transcript again.
# 2: a font per character (every script), the learner's language, «Справка об обучении».
# 3: the learner's avatar beside the heading.
RENDERER_VERSION = "3"
AVATAR_SIZE = 24 * mm


@dataclass(frozen=True)
class _Text:
    """A paragraph's markup, made into a Paragraph once the document's fonts are registered."""

    markup: str
    style: ParagraphStyle

    def paragraph(self) -> Paragraph:
        return Paragraph(self.markup, self.style)


def _cell(value: _Text | str) -> Paragraph | str:
    return value.paragraph() if isinstance(value, _Text) else value


def render_transcript_pdf(data: dict[str, Any], avatar: bytes | None = None) -> bytes:
    """Render `data` (see `transcripts.service`): the learner, then one row per completed course and the total.

    `avatar`: an image Pillow reads (the learner's small WEBP avatar), drawn square (`AVATAR_SIZE`) at the
    right of the heading; None leaves the heading full width.
    """
    local = Localizer(resolve_language(data.get("language") or DEFAULT_LANGUAGE))
    texts = local.texts
    zone = ZoneInfo(data["timezone"])
    fonts = TranscriptFonts()
    regular, bold = base_font(), base_font(bold=True)
    heading = ParagraphStyle("heading", fontName=regular, fontSize=10, leading=13, textColor=colors.grey)
    title = ParagraphStyle("title", fontName=bold, fontSize=18, leading=22, spaceAfter=4 * mm)
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=9, leading=11)
    number = ParagraphStyle("number", parent=cell, alignment=TA_RIGHT)
    head = ParagraphStyle("head", parent=cell, fontName=bold)
    head_number = ParagraphStyle("head-number", parent=head, alignment=TA_RIGHT)

    def text(value: str, style: ParagraphStyle) -> _Text:
        return _Text(fonts.markup(value, bold=style.fontName == bold), style)

    learner = (
        texts.learner.format(data["full_name"])
        if data.get("full_name")
        else texts.learner_without_name.format(data["user_id"])
    )
    header = [
        text(texts.academy, heading),
        text(texts.document_title, title),
        text(learner, body),
        text(local.summary(len(data["courses"]), data["total_hours"]), body),
    ]
    rows: list[list[_Text | str]] = [
        [
            text(texts.course, head),
            text(texts.category, head),
            text(texts.started, head),
            text(texts.completed, head),
            text(texts.hours, head_number),
        ]
    ]
    for course in data["courses"]:
        hours = course["duration_hours"]
        rows.append(
            [
                text(course["title"] or texts.course_without_title.format(course["course_id"]), cell),
                text(local.category(course["category"]), cell),
                text(local.date(course["enrolled_at"], zone), cell),
                text(local.date(course["completed_at"], zone), cell),
                text("" if hours is None else local.number(hours), number),
            ]
        )
    rows.append([text(texts.total, head), "", "", "", text(local.number(data["total_hours"]), head_number)])

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{texts.document_title} — {texts.academy}",
        author=texts.academy,
        lang=local.language,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    with fonts.registered():
        table = Table(
            [[_cell(value) for value in row] for row in rows],
            colWidths=[70 * mm, 35 * mm, 24 * mm, 24 * mm, 17 * mm],
            repeatRows=1,
        )
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3e5f5")),
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        heading_flowables: list[Flowable] = [item.paragraph() for item in header]
        if avatar is not None:
            picture = Image(io.BytesIO(avatar), width=AVATAR_SIZE, height=AVATAR_SIZE)
            beside = Table([[heading_flowables, picture]], colWidths=[170 * mm - AVATAR_SIZE, AVATAR_SIZE])
            beside.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ]
                )
            )
            heading_flowables = [beside]
        document.build([*heading_flowables, Spacer(1, 6 * mm), table])
    return buffer.getvalue()
