"""Validation of ``reply_markup``: inline keyboards, reply keyboards, keyboard removal, force reply."""

from __future__ import annotations

from typing import Any

from academy_tg_emulator.errors import bad_request

JsonDict = dict[str, Any]

MAX_CALLBACK_DATA_BYTES = 64

INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_REPLY_KEYBOARD_OPTIONS = (
    "is_persistent",
    "resize_keyboard",
    "one_time_keyboard",
    "input_field_placeholder",
    "selective",
)


def _without_none(value: JsonDict) -> JsonDict:
    return {key: item for key, item in value.items() if item is not None}


def _inline_button(button: Any) -> JsonDict:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    checked = _without_none(button)
    actions = [action for action in INLINE_ACTIONS if action in checked]
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in checked:
        data = checked["callback_data"]
        if not isinstance(data, str):
            raise bad_request('can\'t parse inline keyboard button: Field "callback_data" must be of type String')
        if not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in checked:
        url = checked["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    return checked


def _rows(value: Any, field: str, owner: str) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise bad_request(f'field "{field}" of the {owner} must be an Array of Arrays')
    return value


def _reply_button(button: Any) -> JsonDict:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    return _without_none(button)


def validate_markup(raw: Any) -> JsonDict:
    """Check a decoded ``reply_markup`` and return it normalized (``None`` values dropped)."""
    if not isinstance(raw, dict):
        raise bad_request("object expected as reply markup")
    if "inline_keyboard" in raw:
        rows = _rows(raw["inline_keyboard"], "inline_keyboard", "InlineKeyboardMarkup")
        return {"inline_keyboard": [[_inline_button(button) for button in row] for row in rows]}
    if "keyboard" in raw:
        rows = _rows(raw["keyboard"], "keyboard", "ReplyKeyboardMarkup")
        markup: JsonDict = {"keyboard": [[_reply_button(button) for button in row] for row in rows]}
        markup.update(_without_none({key: raw.get(key) for key in _REPLY_KEYBOARD_OPTIONS}))
        return markup
    if raw.get("remove_keyboard"):
        return _without_none({"remove_keyboard": True, "selective": raw.get("selective")})
    if raw.get("force_reply"):
        return _without_none(
            {
                "force_reply": True,
                "input_field_placeholder": raw.get("input_field_placeholder"),
                "selective": raw.get("selective"),
            }
        )
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_buttons(markup: JsonDict | None) -> list[JsonDict]:
    if not markup:
        return []
    return [button for row in markup.get("inline_keyboard", []) for button in row]
