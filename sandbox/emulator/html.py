"""Strict parser for Telegram's parse_mode=HTML: plain text plus entities, or "can't parse entities"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.emulator.errors import ApiError, bad_request

_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z_][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*(/?)>"
)
_ATTR_RE = re.compile(r"([a-zA-Z_][a-zA-Z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_ALLOWED = set(_SIMPLE) | {"a", "span", "blockquote", "tg-emoji"}


@dataclass
class _Open:
    """A start tag waiting for its end tag."""

    tag: str
    offset: int  # UTF-16 offset where the entity starts
    entity: dict[str, Any] = field(default_factory=dict)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts entity offsets in."""
    return len(text.encode("utf-16-le")) // 2


def _fail(detail: str, pos: int, raw: str) -> ApiError:
    """Build Telegram's error for an unparsable HTML message (offsets in bytes, like Telegram)."""
    return bad_request(f"can't parse entities: {detail} at byte offset {len(raw[:pos].encode('utf-8'))}")


def _unescape(text: str, start: int, raw: str) -> str:
    """Decode the allowed character references in ``text``; a bare '&' is an error."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "&":
            out.append(ch)
            i += 1
            continue
        m = _ENTITY_RE.match(text, i)
        if not m:
            raise _fail("Character '&' is reserved and must be escaped as &amp;", start + i, raw)
        if m.group(1):
            out.append(_NAMED[m.group(1)])
        else:
            code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _fail("Invalid character reference", start + i, raw)
            out.append(chr(code))
        i = m.end()
    return "".join(out)


def _attrs(text: str, start: int, raw: str) -> dict[str, str]:
    """Parse tag attributes, decoding their values."""
    out: dict[str, str] = {}
    for m in _ATTR_RE.finditer(text):
        value = m.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        out[m.group(1).lower()] = _unescape(value, start, raw)
    return out


def _start_entity(tag: str, attrs: dict[str, str], pos: int, raw: str) -> dict[str, Any]:
    """Entity fields for a start tag (type and extras such as url or language)."""
    if tag in _SIMPLE:
        return {"type": _SIMPLE[tag]}
    if tag == "span":
        if attrs.get("class") != "tg-spoiler":
            raise _fail('Tag "span" must have class "tg-spoiler"', pos, raw)
        return {"type": "spoiler"}
    if tag == "a":
        href = attrs.get("href", "")
        m = re.match(r"^tg://user\?id=(\d+)$", href)
        if m:
            return {
                "type": "text_mention",
                "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""},
            }
        return {"type": "text_link", "url": href}
    if tag == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    if tag == "tg-emoji":
        if "emoji-id" not in attrs:
            raise _fail('Tag "tg-emoji" must have attribute "emoji-id"', pos, raw)
        return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
    raise _fail(f'Unsupported start tag "{tag}"', pos, raw)


def parse_html(raw: str) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain text, entities) for ``raw`` HTML, raising ApiError exactly where Telegram refuses."""
    plain: list[str] = []
    length = 0  # running UTF-16 length of ``plain``
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(raw):
        lt = raw.find("<", i)
        chunk_end = len(raw) if lt == -1 else lt
        if chunk_end > i:
            text = _unescape(raw[i:chunk_end], i, raw)
            plain.append(text)
            length += utf16_len(text)
        if lt == -1:
            break
        m = _TAG_RE.match(raw, lt)
        if not m:
            raise _fail("Unexpected character '<'; escape it as &lt;", lt, raw)
        closing, tag, attr_text, _self_closing = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
        if tag not in _ALLOWED:
            kind = "end" if closing else "start"
            raise _fail(f'Unsupported {kind} tag "{tag}"', lt, raw)
        if closing:
            if not stack:
                raise _fail(f'Unexpected end tag "{tag}"', lt, raw)
            top = stack.pop()
            if top.tag != tag:
                raise _fail(f'Unmatched end tag, expected "</{top.tag}>", found "</{tag}>"', lt, raw)
            entity = dict(top.entity)
            # <pre><code class="language-x"> becomes one pre entity with a language.
            if tag == "code" and stack and stack[-1].tag == "pre":
                if top.entity.get("language"):
                    stack[-1].entity["language"] = top.entity["language"]
            elif length > top.offset:
                if tag == "code":
                    entity.pop("language", None)
                entities.append({**entity, "offset": top.offset, "length": length - top.offset})
        else:
            attrs = _attrs(attr_text, lt, raw)
            entity = _start_entity(tag, attrs, lt, raw)
            if tag == "code" and attrs.get("class", "").startswith("language-"):
                entity["language"] = attrs["class"][len("language-") :]
            stack.append(_Open(tag, length, entity))
        i = m.end()
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"', len(raw), raw)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(plain), entities
