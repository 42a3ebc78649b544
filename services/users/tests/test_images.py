"""Avatar processing (academy_users.avatars.images): formats checked against the bytes, decompression bombs
refused from the header, orientation applied, metadata stripped, square renditions (issue 10)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from academy_users.avatars.images import (
    ImageTooManyPixelsError,
    ImageTypeMismatchError,
    NotAnImageError,
    UnsupportedImageTypeError,
    process_avatar,
)
from PIL import ExifTags, Image, ImageCms, ImageFile

MAX_PIXELS = 40_000_000
RED, BLUE = (255, 0, 0), (0, 0, 255)
LATITUDE = (55.0, 45.0, 21.0)  # the GPS position a phone writes into a photo


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


def phone_photo() -> bytes:
    """A JPEG as a phone stores a portrait photo: the pixels lying on their side (400 x 200, red left,
    blue right), EXIF orientation 6 (turn 90° clockwise to show), a GPS position, an ICC profile and a
    comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = LATITUDE
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encoded(halves(400, 200), "JPEG", quality=95, exif=exif, icc_profile=profile, comment=b"Anna at home")


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a hundred bytes whose header declares `width` x `height` pixels: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_phone_photo_is_turned_upright_and_keeps_no_metadata():
    photo = phone_photo()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input has a position

    avatar = process_avatar(photo, declared_content_type="image/jpeg", max_pixels=MAX_PIXELS)

    assert avatar.original_content_type == "image/jpeg"
    assert (avatar.original_width, avatar.original_height) == (400, 200)
    for rendition in (avatar.large, avatar.small):
        image = opened(rendition.data)
        assert image.format == "WEBP"
        # Shown upright the photo is 200 x 400, red on top: the centre square is red above, blue below
        # (without the turn it would be red left, blue right).
        side = image.width
        assert close_to(image.getpixel((side // 2, side // 4)), RED)
        assert close_to(image.getpixel((side // 2, 3 * side // 4)), BLUE)
        assert dict(image.getexif()) == {}
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
        for trace in (b"Exif", b"PhoneMaker", b"ICCP", b"XMP", b"Anna at home", struct.pack(">d", LATITUDE[0])):
            assert trace not in rendition.data


@pytest.mark.parametrize(
    ("size", "large", "small"),
    [((1000, 600), 512, 128), ((600, 1000), 512, 128), ((300, 200), 200, 128), ((100, 80), 80, 80)],
)
def test_renditions_are_centre_squares_never_scaled_up(size, large, small):
    width, height = size
    avatar = process_avatar(
        encoded(halves(width, height), "PNG"), declared_content_type="image/png", max_pixels=MAX_PIXELS
    )

    assert (avatar.large.side, avatar.small.side) == (large, small)
    assert opened(avatar.large.data).size == (large, large)
    assert opened(avatar.small.data).size == (small, small)
    if width > height:  # the centre of a wide picture: both halves, split in the middle
        image = opened(avatar.large.data)
        assert close_to(image.getpixel((large // 4, large // 2)), RED)
        assert close_to(image.getpixel((3 * large // 4, large // 2)), BLUE)


def test_a_png_keeps_its_transparency():
    picture = Image.new("RGBA", (300, 300), (0, 128, 0, 255))
    picture.paste((0, 0, 0, 0), (0, 0, 100, 100))  # a transparent corner

    avatar = process_avatar(encoded(picture, "PNG"), declared_content_type="image/png", max_pixels=MAX_PIXELS)

    image = opened(avatar.large.data)
    assert image.mode == "RGBA"
    assert image.getpixel((5, 5))[3] == 0
    assert image.getpixel((250, 250))[3] == 255


def test_a_webp_and_a_content_type_with_parameters_are_accepted():
    data = encoded(halves(64, 64), "WEBP")

    avatar = process_avatar(data, declared_content_type="image/WEBP; charset=binary", max_pixels=MAX_PIXELS)

    assert avatar.original_content_type == "image/webp"
    assert avatar.large.side == 64


@pytest.mark.parametrize(
    "body",
    [b"", b"just some text, not a picture", b"%PDF-1.4\n" + b"x" * 100, b"\x89PNG\r\n\x1a\n" + b"\x00" * 40],
)
def test_a_body_that_is_no_image_is_refused(body):
    with pytest.raises(NotAnImageError) as refused:
        process_avatar(body, declared_content_type="image/png", max_pixels=MAX_PIXELS)
    assert refused.value.status_code == 422
    assert refused.value.code == "not_an_image"


def test_a_truncated_jpeg_is_refused():
    whole = encoded(halves(400, 300), "JPEG")

    with pytest.raises(NotAnImageError):
        process_avatar(whole[: len(whole) // 2], declared_content_type="image/jpeg", max_pixels=MAX_PIXELS)


def test_a_png_sent_as_a_jpeg_lies_about_its_type():
    with pytest.raises(ImageTypeMismatchError) as refused:
        process_avatar(encoded(halves(50, 50), "PNG"), declared_content_type="image/jpeg", max_pixels=MAX_PIXELS)
    assert refused.value.status_code == 422
    assert refused.value.details == {"declared": "image/jpeg", "detected": "image/png"}


@pytest.mark.parametrize("declared", [None, "text/plain", "image/gif", "application/octet-stream"])
def test_a_declared_type_other_than_jpeg_png_webp_is_refused(declared):
    with pytest.raises(UnsupportedImageTypeError) as refused:
        process_avatar(encoded(halves(50, 50), "PNG"), declared_content_type=declared, max_pixels=MAX_PIXELS)
    assert refused.value.status_code == 415


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF")])
def test_an_image_of_another_format_is_named_and_refused(fmt, name):
    with pytest.raises(UnsupportedImageTypeError) as refused:
        process_avatar(encoded(halves(50, 50), fmt), declared_content_type="image/png", max_pixels=MAX_PIXELS)
    assert refused.value.details["detected"] == name
    assert name in refused.value.message


@pytest.fixture
def nothing_decodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding pixels fails the test: a bomb must be refused from its header alone."""

    def load(self: ImageFile.ImageFile) -> None:
        raise AssertionError(f"{self.size} pixels were about to be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize(
    "side",
    [
        30_000,  # 900 MP: beyond twice Pillow's limit, its DecompressionBombError
        10_000,  # 100 MP: past Pillow's warning
        7_000,  # 49 MP: under Pillow's limits, over AVATAR_MAX_PIXELS
    ],
)
@pytest.mark.usefixtures("nothing_decodes")
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused_without_being_decoded(side):
    bomb = png_declaring(side, side)
    assert len(bomb) < 200

    started = time.perf_counter()
    with pytest.raises(ImageTooManyPixelsError) as refused:
        process_avatar(bomb, declared_content_type="image/png", max_pixels=MAX_PIXELS)

    assert time.perf_counter() - started < 0.5
    assert refused.value.status_code == 422
    assert refused.value.details["max_pixels"] == MAX_PIXELS


def test_the_pixel_limit_is_the_setting():
    picture = encoded(halves(200, 100), "PNG")

    with pytest.raises(ImageTooManyPixelsError) as refused:
        process_avatar(picture, declared_content_type="image/png", max_pixels=19_999)
    assert refused.value.details == {"width": 200, "height": 100, "max_pixels": 19_999}
    assert process_avatar(picture, declared_content_type="image/png", max_pixels=20_000).large.side == 100
