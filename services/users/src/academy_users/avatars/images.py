"""Avatar image processing with Pillow: pure functions over bytes, no I/O (run them in a thread).

What an upload goes through (issue 10, "Limits with a clear answer"), each refusal a house error:

1. The declared Content-Type must be JPEG, PNG or WEBP (415 `unsupported_image_type` otherwise).
2. The bytes are identified by Pillow, trying only those three formats: something else entirely is a
   422 `not_an_image`; a GIF, BMP, TIFF, HEIC or AVIF is recognised by its signature and refused with 415
   `unsupported_image_type` naming it; a real format other than the declared one is a 422
   `image_type_mismatch` (a PNG sent as `image/jpeg`: the file lies about its type).
3. The pixel count comes from the header, before a single pixel is decoded (`Image.open` is lazy):
   width x height over `max_pixels` (AVATAR_MAX_PIXELS, never more than Pillow's own MAX_IMAGE_PIXELS) is a
   422 `image_too_many_pixels`, as is Pillow's own DecompressionBombError/Warning. A decompression bomb
   (a 100-byte PNG declaring 30000 x 30000) is refused without being decoded.
4. Decoding (a damaged or truncated file is a 422 `not_an_image`); EXIF orientation applied; colours
   converted to sRGB when the file carries an ICC profile; a centre square crop; two WEBP renditions,
   large (512 px) and small (128 px), never scaled up (a 300 px square stays 300 and 128). Transparency is
   kept (WEBP has alpha).
5. Nothing of the upload's metadata survives: the renditions are built from the pixels alone (no EXIF,
   GPS, ICC profile, XMP or comments).

The original bytes are stored as uploaded by the service (academy_users.avatars.service); what this
module returns says what they really are.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from academy_runtime.errors import UnsupportedMediaTypeError, ValidationFailedError
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

ACCEPTED_TYPES: Mapping[str, str] = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
"""The media types an upload may declare, with the Pillow format each must really be."""
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
LARGE_SIDE = 512
"""The large rendition's side in pixels (the profile photo)."""
SMALL_SIDE = 128
"""The small rendition's side in pixels (lists, the transcript PDF)."""
OUTPUT_CONTENT_TYPE = "image/webp"
"""The media type of both renditions."""
_LARGE_QUALITY, _SMALL_QUALITY = 85, 80  # WEBP quality: ~25 KB and ~4 KB for a typical face
# Signatures of image formats people send that are not accepted, to name them in the refusal.
_OTHER_FORMATS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (4, b"ftypheic", "HEIC"),
    (4, b"ftypheix", "HEIC"),
    (4, b"ftypmif1", "HEIF"),
    (4, b"ftypavif", "AVIF"),
)
# What Pillow raises for a file it identified but cannot decode (truncated, damaged, inconsistent).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, ZeroDivisionError)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class UnsupportedImageTypeError(UnsupportedMediaTypeError):
    """415 `unsupported_image_type`: the declared Content-Type, or the file's real format, is not JPEG,
    PNG or WEBP. `details`: `declared` (the Content-Type as sent), `detected` when the file was recognised."""

    code = "unsupported_image_type"


class NotAnImageError(ValidationFailedError):
    """422 `not_an_image`: the bytes are no JPEG, PNG or WEBP Pillow can read (empty, another kind of
    file, damaged or truncated)."""

    code = "not_an_image"


class ImageTypeMismatchError(ValidationFailedError):
    """422 `image_type_mismatch`: the file is an accepted image, but not of the declared type (a PNG sent
    as `image/jpeg`). `details`: `declared` and `detected` media types."""

    code = "image_type_mismatch"


class ImageTooManyPixelsError(ValidationFailedError):
    """422 `image_too_many_pixels`: width x height (from the header) over AVATAR_MAX_PIXELS, or Pillow's
    own decompression-bomb refusal. `details`: `max_pixels`, and `width`/`height` when known. Nothing was
    decoded."""

    code = "image_too_many_pixels"


@dataclass(frozen=True)
class Rendition:
    """One processed image: WEBP bytes of a `side` x `side` square."""

    data: bytes
    side: int

    @property
    def size_bytes(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class ProcessedAvatar:
    """An accepted upload: its real media type and pixel size (as stored, before orientation), and the
    two renditions."""

    original_content_type: str
    original_width: int
    original_height: int
    large: Rendition
    small: Rendition


def accepted_type(content_type: str | None) -> str:
    """The declared media type of an upload, normalised (`image/JPEG; q=1` → `image/jpeg`, `image/jpg` →
    `image/jpeg`). UnsupportedImageTypeError unless it names JPEG, PNG or WEBP."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    media_type = _ALIASES.get(media_type, media_type)
    if media_type not in ACCEPTED_TYPES:
        raise UnsupportedImageTypeError(
            f"an avatar is a JPEG, PNG or WEBP image (Content-Type image/jpeg, image/png or image/webp), "
            f"not {media_type or 'a body without a Content-Type'}",
            details={"declared": media_type or None, "accepted": sorted(ACCEPTED_TYPES)},
        )
    return media_type


def process_avatar(data: bytes, *, declared_content_type: str | None, max_pixels: int) -> ProcessedAvatar:
    """Check an upload and make its renditions (see the module docstring for each step and refusal).

    `data`: the body as sent; `declared_content_type`: its Content-Type header; `max_pixels`: the most
    width x height accepted (capped at Pillow's MAX_IMAGE_PIXELS). CPU-bound (about 0.1 s for a 12 MP
    JPEG): call it through `asyncio.to_thread`. Raises UnsupportedImageTypeError, NotAnImageError,
    ImageTypeMismatchError, ImageTooManyPixelsError.
    """
    declared = accepted_type(declared_content_type)
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    with _open(data, declared, limit) as image:
        width, height = image.size
        if width * height > limit:
            raise ImageTooManyPixelsError(
                f"the image is {width} x {height} pixels; an avatar may have at most {limit} pixels",
                details={"width": width, "height": height, "max_pixels": limit},
            )
        square = _decoded_square(image)
    large = _render(square, min(square.width, LARGE_SIDE), quality=_LARGE_QUALITY)
    small = _render(square, min(square.width, SMALL_SIDE), quality=_SMALL_QUALITY)
    return ProcessedAvatar(
        original_content_type=declared, original_width=width, original_height=height, large=large, small=small
    )


def _open(data: bytes, declared: str, max_pixels: int) -> Image.Image:
    """The image, opened (header read, nothing decoded) as one of the accepted formats only."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_TYPES.values()))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooManyPixelsError(
            f"the image declares more pixels than an avatar may have ({max_pixels})",
            details={"max_pixels": max_pixels},
        ) from exc
    except UnidentifiedImageError as exc:
        other = _other_format(data)
        if other is not None:
            raise UnsupportedImageTypeError(
                f"the file is a {other} image; an avatar is a JPEG, PNG or WEBP image",
                details={"declared": declared, "detected": other, "accepted": sorted(ACCEPTED_TYPES)},
            ) from exc
        raise NotAnImageError("the body is not a JPEG, PNG or WEBP image") from exc
    except _DECODE_ERRORS as exc:  # a header Pillow recognised but could not read
        raise NotAnImageError("the image is damaged: its header cannot be read") from exc
    detected = next(media for media, fmt in ACCEPTED_TYPES.items() if fmt == image.format)
    if detected != declared:
        image.close()
        raise ImageTypeMismatchError(
            f"the file is {detected}, but was sent as {declared}: send it with its own type",
            details={"declared": declared, "detected": detected},
        )
    return image


def _other_format(data: bytes) -> str | None:
    """The name of an image format recognised by its signature among the refused ones, else None."""
    for offset, signature, name in _OTHER_FORMATS:
        if data[offset : offset + len(signature)] == signature:
            return name
    return None


def _decoded_square(image: Image.Image) -> Image.Image:
    """Decode, turn upright (EXIF orientation), convert to sRGB RGB/RGBA and crop the centre square."""
    # A JPEG decodes at 1/2, 1/4 or 1/8 scale when that still leaves the large side: far less work.
    image.draft(image.mode, (LARGE_SIDE, LARGE_SIDE))
    try:
        image.load()
        upright = _upright(image)
        converted = _to_srgb(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooManyPixelsError("the image holds more pixels than it declared") from exc
    except _DECODE_ERRORS as exc:
        raise NotAnImageError("the image is damaged or truncated and cannot be decoded") from exc
    side = min(converted.size)
    left, top = (converted.width - side) // 2, (converted.height - side) // 2
    return converted.crop((left, top, left + side, top + side))


def _upright(image: Image.Image) -> Image.Image:
    """The image as it is meant to be seen (EXIF orientation 2-8 applied); as it is when the EXIF cannot
    be read (a damaged EXIF block is no reason to refuse a photo)."""
    try:
        transposed = ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        log.info("avatar EXIF unreadable; orientation left as stored")
        return image
    return image if transposed is None else transposed


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA (with transparency) in sRGB: an embedded ICC profile (a phone's Display P3) is applied
    rather than dropped, so colours look the same once the profile is gone."""
    if image.mode.startswith("I;16") or image.mode == "I":  # 16-bit greyscale PNG: 0..65535 → 0..255
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    target = "RGBA" if _has_alpha(image) else "RGB"
    icc = image.info.get("icc_profile")
    if icc and image.mode in {"RGB", "RGBA", "CMYK", "L"}:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            base = "RGB" if image.mode in {"CMYK", "L"} else image.mode
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=base)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            log.info("avatar ICC profile unusable; colours converted without it")
        else:
            if converted is not None:
                return converted if converted.mode == target else converted.convert(target)
    return image if image.mode == target else image.convert(target)


def _render(square: Image.Image, side: int, *, quality: int) -> Rendition:
    """A `side` x `side` WEBP of `square`, built from its pixels alone: no metadata goes along."""
    resized = square.resize((side, side), Image.Resampling.LANCZOS) if square.width != side else square
    # A new image of the pixels only: `info` (EXIF, ICC, XMP, comments) stays behind with the original.
    clean = Image.frombytes(resized.mode, resized.size, resized.tobytes())
    buffer = io.BytesIO()
    clean.save(buffer, "WEBP", quality=quality, method=4)
    return Rendition(data=buffer.getvalue(), side=side)
