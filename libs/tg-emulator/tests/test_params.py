"""Reading parameters from every encoding a bot library uses."""

from __future__ import annotations

import httpx
import pytest
from academy_tg_emulator.errors import ApiError
from academy_tg_emulator.params import Params


def _encoded(data: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[str, bytes]:
    request = httpx.Request("POST", "http://emulator/bot1:x/sendDocument", data=data, files=files)
    return request.headers["content-type"], request.read()


def test_multipart_fields_and_files() -> None:
    content_type, body = _encoded(
        data={"chat_id": "42", "caption": "Привет", "reply_markup": '{"remove_keyboard": true}'},
        files={"document": ("отчёт.pdf", b"%PDF\r\n--not-a-boundary\r\n", "application/pdf")},
    )
    params = Params.from_request({"parse_mode": "HTML"}, content_type, body)
    assert params.get_int("chat_id") == 42
    assert params.get_str("caption") == "Привет"
    assert params.get_str("parse_mode") == "HTML"
    assert params.get_json("reply_markup", error="bad") == {"remove_keyboard": True}
    upload = params.get_file("document")
    assert upload is not None
    assert (upload.filename, upload.content_type) == ("отчёт.pdf", "application/pdf")
    assert upload.data == b"%PDF\r\n--not-a-boundary\r\n"
    assert params.for_log()["document"] == {"upload": "отчёт.pdf", "content_type": "application/pdf", "size": 24}


def test_json_form_and_typed_getters() -> None:
    params = Params.from_request({}, "application/json", b'{"chat_id": 7, "show_alert": true, "entities": []}')
    assert params.get_int("chat_id") == 7
    assert params.get_bool("show_alert") is True
    assert params.get_json("entities", error="bad") == []
    content_type, body = _encoded(data={"ok": "false", "limit": "abc", "markup": "{oops"})
    form = Params.from_request({}, content_type, body)
    assert form.get_bool("ok") is False
    with pytest.raises(ApiError, match='field "limit" must be a valid Number'):
        form.get_int("limit")
    with pytest.raises(ApiError, match="can't parse it"):
        form.get_json("markup", error="can't parse it")
    with pytest.raises(ApiError, match="JSON object expected"):
        Params.from_request({}, "application/json", b"[1, 2]")
