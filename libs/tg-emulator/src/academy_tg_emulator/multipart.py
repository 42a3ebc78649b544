"""A small ``multipart/form-data`` reader.

Starlette needs ``python-multipart`` for ``request.form()``; the emulator reads the few shapes
bots send (aiogram's ``FormData``, curl ``-F``, httpx ``files=``) with the standard library instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class MultipartError(ValueError):
    """The body is not a multipart/form-data document this reader understands."""


def content_type_params(content_type: str) -> tuple[str, dict[str, str]]:
    """Split ``text/plain; charset=utf-8`` into the media type and its parameters."""
    message = Message()
    message["content-type"] = content_type
    params = {str(key).lower(): str(value) for key, value in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Return the text fields and the file parts of a multipart/form-data body."""
    _, params = content_type_params(content_type)
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError("multipart body without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    chunks = body.split(delimiter)
    # chunks[0] is the preamble; the part after the closing delimiter starts with "--".
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        part = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
        part = part.removesuffix(b"\r\n") if part.endswith(b"\r\n") else part.removesuffix(b"\n")
        head, separator, content = part.partition(b"\r\n\r\n")
        if not separator:
            head, separator, content = part.partition(b"\n\n")
            if not separator:
                raise MultipartError("multipart part without headers")
        headers = HeaderParser().parsestr(head.decode("utf-8", errors="replace"))
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        filename = headers.get_filename()
        if filename is None:
            charset = headers.get_content_charset() or "utf-8"
            fields[name] = content.decode(charset, errors="replace")
        else:
            raw_type = headers.get("content-type")
            files[name] = UploadedFile(
                filename=filename,
                content_type=str(raw_type) if raw_type else None,
                data=content,
            )
    return fields, files
