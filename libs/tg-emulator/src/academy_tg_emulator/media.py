"""Just enough media sniffing to describe uploads: image dimensions and MIME types."""

from __future__ import annotations

import mimetypes
import struct

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})
_JPEG_MARKER = 0xFF
_PNG_HEADER_END = 24  # signature, IHDR length and type, width, height
_GIF_HEADER_END = 10  # signature, width, height
_VP8X_HEADER_END = 30
_VP8_HEADER_END = 30
_VP8L_HEADER_END = 25


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != _JPEG_MARKER:
            return None
        marker = data[i + 1]
        if marker == _JPEG_MARKER:  # fill byte
            i += 1
            continue
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _JPEG_SOF and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= _VP8X_HEADER_END:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 " and len(data) >= _VP8_HEADER_END:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= _VP8L_HEADER_END:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF or WebP image; ``None`` if ``data`` is none of them."""
    if data.startswith(_PNG_SIGNATURE) and len(data) >= _PNG_HEADER_END:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= _GIF_HEADER_END:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def guess_mime_type(file_name: str | None, declared: str | None = None) -> str:
    """The declared type unless it is the generic one, else a guess from the file name."""
    if declared and declared.split(";")[0].strip() not in {"", "application/octet-stream"}:
        return declared.split(";")[0].strip()
    if file_name:
        guessed, _ = mimetypes.guess_type(file_name)
        if guessed:
            return guessed
    return "application/octet-stream"


def extension_for(mime_type: str, file_name: str | None) -> str:
    if file_name and "." in file_name:
        return file_name.rsplit(".", 1)[1].lower()
    return (mimetypes.guess_extension(mime_type) or ".bin").lstrip(".")
