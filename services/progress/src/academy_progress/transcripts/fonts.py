"""Fonts for the transcript, chosen per character, so that a name or a title in any script is drawn.

reportlab draws a character its font lacks as glyph 0, the blank box of issue 8, and picks no other
font by itself. So every piece of text is split into runs by the first font of a fallback chain whose
cmap has the character, and each run becomes `<font name=...>` markup for a Paragraph.

The chain: Roboto (the transcript's face since its first version: Latin, Cyrillic, Greek, in regular
and bold), Noto Sans (the rest of Latin, Cyrillic and Greek), a Noto Sans per script (Armenian,
Georgian, Hebrew, Arabic, the Indic scripts, Thai, Lao, Khmer, Myanmar, Ethiopic), Noto Sans
Symbols, Noto Emoji (monochrome: reportlab cannot draw colour bitmap fonts), then Noto Sans CJK in
the order the text suggests (Japanese when it has kana, Korean when it has Hangul, else Simplified
Chinese first). They come from PyPI: `manimgx-fonts` (Noto, ~7 MB) and `justmytype-intl-cjk` (Noto
Sans SC/TC/JP/KR as TrueType, ~48 MB; the CFF-flavoured Noto CJK fonts cannot be embedded by
reportlab).

Memory: a font is read when a character first needs it (its cmap only, through fontTools), and
registered with reportlab once per process; the CJK fonts (10-18 MB each) are never read for a
transcript without CJK text. Noto's variable fonts are drawn at their default instance, which is
Regular for all but Noto Sans CJK, whose default is Thin: for it, a Regular instance of just the
characters one document uses is made for that document (~0.3 s), registered for the time of its
rendering and dropped afterwards (a whole Regular instance would take ~13 s and 10 MB per font).

A character no font has is drawn as U+FFFD (�) and counted in
`academy_progress_transcript_missing_glyphs_total`; the log names only the Unicode blocks (no text).

Right-to-left text (Hebrew, Arabic) is put in visual order with python-bidi, Arabic letters first in
their joined presentation forms with arabic-reshaper, since reportlab neither reorders (its bidi needs
`rlbidi`, which is not on PyPI) nor shapes across our per-script font runs. What that leaves out:
Indic conjuncts and vowel-sign reordering and Thai mark stacking need OpenType shaping (characters
are all drawn, in logical order, but not joined as a native reader expects); a right-to-left text
that wraps onto a second line shows its lines in the wrong order; Arabic vowel marks are dropped
(arabic-reshaper's default, as they cannot be positioned); emoji ZWJ sequences and flags are drawn
as their component emoji.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
import font_roboto
import justmytype_intl_cjk
import manimgx_fonts
from bidi import get_display
from fontTools import subset
from fontTools.ttLib import TTFont as FontToolsFont
from fontTools.varLib import instancer
from prometheus_client import Counter
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

MISSING_GLYPHS = Counter(
    "academy_progress_transcript_missing_glyphs_total",
    "Characters of a transcript that no installed font has, drawn as U+FFFD instead",
)

REPLACEMENT_CHARACTER = "\ufffd"
REGULAR_WEIGHT = 400.0
_VARIATION_SELECTOR_TEXT = "\ufe0e"
_VARIATION_SELECTOR_EMOJI = "\ufe0f"


@dataclass(frozen=True)
class FontFile:
    """A TrueType font of the chain; `name` is what reportlab and the markup call it."""

    name: str
    path: Path


_ROBOTO_DIR = Path(font_roboto.__file__).parent / "files"
_NOTO_DIR = Path(manimgx_fonts.__file__).parent
_CJK_DIR = Path(justmytype_intl_cjk.__file__).parent / "fonts" / "ofl"


def _noto(script: str) -> FontFile:
    return FontFile(f"NotoSans{script}", _NOTO_DIR / f"NotoSans{script}[wght].ttf")


def _noto_cjk(region: str) -> FontFile:
    return FontFile(f"NotoSans{region}", _CJK_DIR / f"notosans{region.lower()}" / f"NotoSans{region}[wght].ttf")


ROBOTO = FontFile("Roboto", _ROBOTO_DIR / "Roboto-Regular.ttf")
ROBOTO_BOLD = FontFile("Roboto-Bold", _ROBOTO_DIR / "Roboto-Bold.ttf")
NOTO_SANS = FontFile("NotoSans", _NOTO_DIR / "NotoSans[wght].ttf")
NOTO_ARABIC = _noto("Arabic")
NOTO_EMOJI = FontFile("NotoEmoji", _NOTO_DIR / "NotoEmoji[wght].ttf")
NOTO_SYMBOLS = _noto("Symbols")
FALLBACK_FONTS = (
    _noto("Armenian"),
    _noto("Georgian"),
    _noto("Hebrew"),
    NOTO_ARABIC,
    _noto("Devanagari"),
    _noto("Bengali"),
    _noto("Gurmukhi"),
    _noto("Gujarati"),
    _noto("Oriya"),
    _noto("Tamil"),
    _noto("Telugu"),
    _noto("Kannada"),
    _noto("Malayalam"),
    _noto("Sinhala"),
    _noto("Thai"),
    _noto("Lao"),
    _noto("Khmer"),
    _noto("Myanmar"),
    _noto("Ethiopic"),
    NOTO_SYMBOLS,
    NOTO_EMOJI,
)
CJK_SC, CJK_TC, CJK_JP, CJK_KR = (_noto_cjk(region) for region in ("SC", "TC", "JP", "KR"))

_lock = threading.Lock()


@cache
def coverage(font: FontFile) -> frozenset[int]:
    """The code points `font` has a glyph for (read from its cmap, without loading the outlines)."""
    with FontToolsFont(font.path, lazy=True) as face:
        return frozenset(code for code, glyph in face.getBestCmap().items() if glyph != ".notdef")


@cache
def _default_is_regular(font: FontFile) -> bool:
    with FontToolsFont(font.path, lazy=True) as face:
        if "fvar" not in face:
            return True
        return all(axis.defaultValue == REGULAR_WEIGHT for axis in face["fvar"].axes if axis.axisTag == "wght")


@cache
def _registered(font: FontFile) -> str:
    with _lock:
        if font.name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(font.name, str(font.path)))
    return font.name


def base_font(*, bold: bool = False) -> str:
    """The registered name of the transcript's own face (Roboto), for paragraph styles."""
    return _registered(ROBOTO_BOLD if bold else ROBOTO)


def _regular_instance(font: FontFile, characters: frozenset[int]) -> bytes:
    """`font` cut down to `characters` and set to the Regular weight: a few KB, made in well under a second."""
    options = subset.Options()
    options.layout_features = []  # reportlab does not shape: no GSUB/GPOS needed
    options.notdef_outline = True
    options.name_IDs = ["*"]
    with FontToolsFont(font.path) as face:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=characters)
        subsetter.subset(face)
        instancer.instantiateVariableFont(face, {"wght": REGULAR_WEIGHT}, inplace=True)
        for record in face["name"].names:
            if record.nameID == 6:  # noqa: PLR2004 - the PostScript name, which the PDF shows as BaseFont
                record.string = f"{font.name}-Regular"
        out = io.BytesIO()
        face.save(out)
    return out.getvalue()


@cache
def _arabic_reshaper() -> arabic_reshaper.ArabicReshaper:
    # Only the presentation forms and ligatures Noto Sans Arabic has, so reshaping never asks for a
    # glyph the font lacks.
    return arabic_reshaper.ArabicReshaper(arabic_reshaper.config_for_true_type_font(str(NOTO_ARABIC.path)))


def visual_order(text: str) -> str:
    """`text` as it is to be drawn left to right: right-to-left runs reversed, Arabic letters joined."""
    directions = {unicodedata.bidirectional(char) for char in text}
    if not directions & {"R", "AL"}:
        return text
    if "AL" in directions:
        text = _arabic_reshaper().reshape(text)
    return str(get_display(text))


def _cjk_order(text: str) -> tuple[FontFile, ...]:
    """Han characters look different in each region: follow the text's kana or Hangul when it has any."""
    if any("\u3040" <= char <= "\u30ff" or "\u31f0" <= char <= "\u31ff" for char in text):
        return CJK_JP, CJK_SC, CJK_TC, CJK_KR
    if any(
        "\uac00" <= char <= "\ud7af" or "\u1100" <= char <= "\u11ff" or "\u3130" <= char <= "\u318f" for char in text
    ):
        return CJK_KR, CJK_SC, CJK_TC, CJK_JP
    return CJK_SC, CJK_TC, CJK_JP, CJK_KR


def _is_invisible(char: str) -> bool:
    """Format characters (ZWJ, bidi marks...) and variation selectors: nothing to draw if no font has them."""
    return unicodedata.category(char) == "Cf" or "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef"


def _stays_in_run(char: str, font: FontFile) -> bool:
    """Marks, spaces and punctuation stay in the font of the run they follow, where that font has them.

    Not in Noto Emoji, whose space is as wide as an emoji.
    """
    return font is not NOTO_EMOJI and unicodedata.category(char)[0] in "MZP" and ord(char) in coverage(font)


def _first_font(char: str, following: str, chain: tuple[FontFile, ...]) -> FontFile | None:
    code = ord(char)
    if following == _VARIATION_SELECTOR_EMOJI and code in coverage(NOTO_EMOJI):
        return NOTO_EMOJI
    for font in chain:
        if font is NOTO_EMOJI and following == _VARIATION_SELECTOR_TEXT:
            continue
        if code in coverage(font):
            return font
    return None


def split_by_font(text: str, *, bold: bool = False) -> tuple[list[tuple[FontFile, str]], list[int]]:
    """`text` (already in visual order) as runs of (font that has every character of it, characters).

    Also returns the code points no font has; each is drawn as U+FFFD in Noto Sans instead.
    """
    chain = (ROBOTO_BOLD if bold else ROBOTO, NOTO_SANS, *FALLBACK_FONTS, *_cjk_order(text))
    runs: list[tuple[FontFile, list[str]]] = []
    missing: list[int] = []
    for index, raw in enumerate(text):
        char = " " if raw in "\t\n\r" else raw
        current = runs[-1][0] if runs else None
        if unicodedata.category(char) == "Cc":
            continue
        if _is_invisible(char):
            if current is not None and ord(char) in coverage(current):
                runs[-1][1].append(char)
            continue
        if current is not None and _stays_in_run(char, current):
            runs[-1][1].append(char)
            continue
        following = text[index + 1] if index + 1 < len(text) else ""
        font = _first_font(char, following, chain)
        if font is None:
            missing.append(ord(char))
            font, char = NOTO_SANS, REPLACEMENT_CHARACTER
        if font is current:
            runs[-1][1].append(char)
        else:
            runs.append((font, [char]))
    return [(font, "".join(chars)) for font, chars in runs], missing


_ASTRAL_TARGET = re.compile(r"<([0-9A-F]{5,6})>")


@cache
def _fix_reportlab_to_unicode() -> None:
    """Make reportlab write characters beyond U+FFFF (emoji) into ToUnicode as UTF-16, as PDF requires.

    reportlab 5.1 writes U+1F485 as `<1F485>`, which viewers and text extraction drop: the emoji is
    drawn but cannot be copied or searched. Its maps give one-byte codes on the left, so a five or
    six digit target is always a code point to rewrite as a surrogate pair.
    """
    original = ttfonts.makeToUnicodeCMap

    def to_unicode_cmap(fontname: str, subset: list[int]) -> str:
        return _ASTRAL_TARGET.sub(
            lambda match: f"<{chr(int(match[1], 16)).encode('utf-16-be').hex().upper()}>",
            original(fontname, subset),
        )

    ttfonts.makeToUnicodeCMap = to_unicode_cmap


class TranscriptFonts:
    """The fonts of one document: markup for all its texts first, then, in `registered()`, its paragraphs.

    reportlab checks a `<font name=...>` when the Paragraph is made, and a per-document instance can
    only be made once every character it must hold is known: so make the Paragraphs inside `registered()`.
    """

    def __init__(self) -> None:
        _fix_reportlab_to_unicode()
        self._document = uuid.uuid4().hex[:12]
        self._instances: dict[FontFile, set[int]] = {}
        self.missing: list[int] = []

    def markup(self, text: str, *, bold: bool = False) -> str:
        """Paragraph markup drawing `text` (logical order, any script) with a font per run; XML-escaped."""
        runs, missing = split_by_font(visual_order(text), bold=bold)
        self.missing.extend(missing)
        return "".join(f'<font name="{self._font_name(font, run)}">{escape(run)}</font>' for font, run in runs)

    def _font_name(self, font: FontFile, run: str) -> str:
        if _default_is_regular(font):
            return _registered(font)
        self._instances.setdefault(font, set()).update(map(ord, run))
        return f"{font.name}-{self._document}"

    @contextmanager
    def registered(self) -> Iterator[None]:
        """Register this document's Regular instances while its paragraphs are made and built; count missing glyphs."""
        fonts = [
            TTFont(f"{font.name}-{self._document}", io.BytesIO(_regular_instance(font, frozenset(characters))))
            for font, characters in self._instances.items()
        ]
        for font in fonts:
            pdfmetrics.registerFont(font)
        try:
            yield
        finally:
            for font in fonts:
                font.unregister()
        if self.missing:
            MISSING_GLYPHS.inc(len(self.missing))
            blocks = sorted({f"U+{code >> 8:X}xx" for code in self.missing})
            log.warning(
                "transcript has %d characters no font covers (drawn as U+FFFD), in blocks %s",
                len(self.missing),
                ", ".join(blocks),
            )
