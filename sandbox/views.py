"""What the page shows of a chat: each message as Telegram would render it, in plain JSON."""

from __future__ import annotations

from typing import Any

from sandbox.emulator.state import ChatState, ReceivedMessage


def file_url(file_id: str) -> str:
    """Where the page downloads a file the emulator keeps."""
    return f"/files/{file_id}"


def _inline_keyboard(markup: dict[str, Any]) -> list[list[dict[str, Any]]]:
    rows = []
    for row in markup.get("inline_keyboard") or []:
        rows.append(
            [
                {"text": b.get("text", ""), "data": b.get("callback_data"), "url": b.get("url")}
                for b in row
                if isinstance(b, dict)
            ]
        )
    return rows


def _reply_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for row in markup.get("keyboard") or []:
        buttons = []
        for button in row:
            if isinstance(button, str):
                buttons.append({"text": button, "location": False})
            else:
                buttons.append(
                    {"text": button.get("text", ""), "location": bool(button.get("request_location"))}
                )
        rows.append(buttons)
    return {
        "rows": rows,
        "one_time": bool(markup.get("one_time_keyboard")),
        "placeholder": markup.get("input_field_placeholder"),
    }


def bot_message_view(msg: ReceivedMessage) -> dict[str, Any]:
    """A message the bot sent (kept live by the emulator: edits and pins show in place)."""
    if msg.deleted:
        return {"id": msg.message_id, "deleted": True}
    markup = msg.reply_markup or {}
    view: dict[str, Any] = {
        "id": msg.message_id,
        "from": "bot",
        "kind": msg.kind,
        "text": msg.text,
        "entities": msg.entities,
        "date": msg.date,
        "edited": msg.edit_date is not None,
        "pinned": msg.pinned,
        "silent": msg.disable_notification,
    }
    if msg.photo:
        view["photo"] = file_url(msg.photo)
    if msg.document:
        view["document"] = {"url": file_url(msg.document), "name": msg.document_name or "document"}
    if msg.location:
        view["location"] = msg.location
    if "inline_keyboard" in markup:
        view["inline_keyboard"] = _inline_keyboard(markup)
    if "keyboard" in markup:
        view["reply_keyboard"] = _reply_keyboard(markup)
    if markup.get("remove_keyboard"):
        view["remove_keyboard"] = True
    return view


def user_message_view(raw: dict[str, Any]) -> dict[str, Any]:
    """A message the person wrote (Telegram's Message JSON, as the emulator stored it)."""
    text = raw.get("text") if "text" in raw else raw.get("caption")
    entities = raw.get("entities") or raw.get("caption_entities") or []
    view: dict[str, Any] = {
        "id": raw["message_id"],
        "from": "user",
        "kind": "text",
        "text": text,
        "entities": entities,
        "date": raw.get("date", 0),
    }
    if text and text.startswith("/start "):
        # Telegram shows a deep link's /start without its payload.
        view.update(text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}], invite=True)
    if raw.get("photo"):
        view.update(kind="photo", photo=file_url(raw["photo"][-1]["file_id"]))
    if raw.get("location"):
        view.update(kind="location", location=raw["location"])
    return view


def message_view(chat: ChatState, message_id: int) -> dict[str, Any] | None:
    """One message of a chat, whoever wrote it (None if the chat never had it)."""
    sent = chat.sent.get(message_id)
    if sent is not None:
        return bot_message_view(sent)
    raw = chat.messages.get(message_id)
    if raw is None:
        return None
    return user_message_view(raw)


def chat_view(chat: ChatState | None) -> list[dict[str, Any]]:
    """Every message of a chat, oldest first (deleted ones left out)."""
    if chat is None:
        return []
    ids = sorted(set(chat.messages) | {mid for mid, m in chat.sent.items() if not m.deleted})
    views = (message_view(chat, mid) for mid in ids)
    return [v for v in views if v is not None and not v.get("deleted")]
