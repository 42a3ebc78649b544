"""Reading Bot API parameters the way Telegram reads them.

A bot may pass parameters in the query string, as ``application/json``, as
``application/x-www-form-urlencoded`` or as ``multipart/form-data``. In the form encodings every
value is text and objects (``reply_markup``, ``entities``...) are JSON-encoded strings; in a JSON
body they may be native values. :class:`Params` hides the difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from academy_tg_emulator.errors import ApiError, bad_request
from academy_tg_emulator.multipart import MultipartError, UploadedFile, content_type_params, parse_multipart

#: Parameters whose value is a JSON-serialized object or array; decoded for the call log.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "allowed_updates",
        "commands",
        "scope",
        "menu_button",
        "prices",
        "suggested_tip_amounts",
        "message_ids",
        "media",
    }
)

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class Params:
    """The parameters of one Bot API call, whatever encoding carried them."""

    def __init__(self, values: Mapping[str, Any], files: Mapping[str, UploadedFile] | None = None) -> None:
        self.values: dict[str, Any] = {key: value for key, value in values.items() if value is not None}
        self.files: dict[str, UploadedFile] = dict(files or {})

    @classmethod
    def from_request(cls, query: Mapping[str, str], content_type: str | None, body: bytes) -> Params:
        values: dict[str, Any] = dict(query)
        files: dict[str, UploadedFile] = {}
        media_type, params = content_type_params(content_type) if content_type else ("", {})
        if body.strip():
            if media_type == "application/json":
                try:
                    decoded = json.loads(body)
                except ValueError as exc:
                    raise bad_request("can't parse JSON encoded request body") from exc
                if not isinstance(decoded, dict):
                    raise bad_request("JSON object expected as request body")
                values.update(decoded)
            elif media_type == "multipart/form-data":
                try:
                    fields, files = parse_multipart(body, content_type or "")
                except MultipartError as exc:
                    raise bad_request(f"can't parse multipart request body: {exc}") from exc
                values.update(fields)
            else:
                charset = params.get("charset", "utf-8")
                text = body.decode(charset, errors="replace")
                values.update(parse_qsl(text, keep_blank_values=True))
        return cls(values, files)

    def has(self, name: str) -> bool:
        value = self.values.get(name)
        return value is not None and value != ""

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def get_str(self, name: str) -> str | None:
        """The value as text; ``None`` when missing or empty."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def get_text(self, name: str) -> str | None:
        """Like :meth:`get_str` but keeps an empty string (``text=""`` differs from no text only in tests)."""
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else self.get_str(name)

    def get_int(self, name: str, *, invalid: Callable[[], ApiError] | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            if invalid is not None:
                raise invalid() from None
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def get_bool(self, name: str, *, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value != 0
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise bad_request(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, *, error: str) -> Any:
        """A JSON-serialized parameter, decoded; ``None`` when missing. ``error`` is the refusal text."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(error) from None
        return value

    def get_file(self, name: str) -> UploadedFile | None:
        return self.files.get(name)

    def for_log(self) -> dict[str, Any]:
        """A JSON-friendly view: JSON fields decoded, uploads described instead of embedded."""
        view: dict[str, Any] = {}
        for key, value in self.values.items():
            if key in JSON_FIELDS and isinstance(value, str):
                try:
                    view[key] = json.loads(value)
                except ValueError:
                    view[key] = value
            else:
                view[key] = value
        for key, upload in self.files.items():
            view[key] = {
                "upload": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
            }
        return view
