"""Rendering of handovers: the draft's views, each reader's copy (their language, the post's zone), the
full text split into messages, the chiefs' views, and their keyboards.

Every piece of user text is escaped; every message stays under Telegram's 4,096 characters: a copy shows
what fits and a "Read it all" button sends the rest.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from bot.callbacks import encode
from bot.config import Config
from bot.dates import format_local_date
from bot.i18n import N_, Translator
from bot.keyboards import inline
from bot.texts import MESSAGE_BUDGET, capitalized, excerpt, fit_lines, preview
from db.handovers import Handover, HandoverState

PREFIX = "ho"
SEVERITY_ICONS = {"urgent": "🔴", "important": "🟠", "info": "🔵"}
# What a copy shows of one long text before "Read it all".
ITEM_EXCERPT = 200
TEXT_EXCERPT = 300
# Alerts listed on a copy (the full text lists them all).
ALERTS_SHOWN = 5
# Long texts are cut into lines of at most this many characters in the full text, so that lines pack into
# messages.
PIECE = 1000
# Items per page of the draft's item editor and of the contest picker: one phone screen of buttons.
ITEMS_PAGE = 6
# A label on a button: what a small screen shows on a button beside another one, or alone on its row.
BUTTON_TEXT = 28
ROW_TEXT = 40
HISTORY_PAGE = 8

NOT_ALLOWED = N_("Only agents of a service at a post write handovers.")
CANCELLED = N_("Handover cancelled. Nothing was sent.")
REPLY_CANCELLED = N_("Nothing was recorded.")
NOT_YOURS = N_("This handover is not for you.")


# ----- small pieces -----------------------------------------------------------------------------------------


def item_tag(text: str) -> str:
    """A short fingerprint of an item, carried by its buttons: a double tap never hits the next item."""
    return hashlib.sha1(text.encode()).hexdigest()[:6]


def day_label(tr: Translator, moment: datetime, zone: str) -> str:
    """'24 nov.' / 'Nov 24' in the post's zone."""
    local = moment.astimezone(ZoneInfo(zone))
    return format_local_date(local, "d MMM" if tr.language == "fr" else "MMM d", tr.language)


def service_label(config: Config, tr: Translator, code: str | None) -> str:
    """A service's name in the reader's language, escaped."""
    return html.escape(config.service_name(code, tr.language))


def shift_label(config: Config, tr: Translator, post_code: str, change_at: datetime) -> str:
    """'07:00 shift change, Nov 24' in the post's zone."""
    zone = config.post_zone(post_code)
    return tr.gettext("{time} shift change, {day}").format(
        time=tr.time(change_at, zone), day=day_label(tr, change_at, zone)
    )


def alert_line(config: Config, tr: Translator, alert: dict[str, Any], post_code: str) -> str:
    """One open alert with its status, as listed in a handover."""
    pending = [str(p) for p in alert.get("pending") or []]
    if pending:
        names = []
        for pair in pending:
            post, _, service = pair.partition("/")
            name = config.service_name(service, tr.language)
            names.append(name if post == post_code else f"{name} ({config.post_name(post)})")
        status = tr.gettext("waiting for {services}").format(services=html.escape(", ".join(names)))
    elif alert.get("handled", True):  # handovers written before this key: as they were shown
        status = tr.gettext("handled")
    else:
        # TRANSLATORS: an open alert in a handover: a required service has nobody at the post.
        status = tr.gettext("waiting for a post chief or a coordinator")
    category = config.category_name(str(alert.get("category", "")), tr.language)
    return "{icon} {number} · {category} · {status}".format(
        icon=SEVERITY_ICONS.get(str(alert.get("severity")), "▫️"),
        number=html.escape(tr.gettext("Alert #{id}").format(id=alert.get("id"))),
        category=html.escape(category),
        status=status,
    )


def alert_lines(
    config: Config, tr: Translator, alerts: list[dict[str, Any]], post_code: str, limit: int
) -> list[str]:
    """The 'Open alerts' section: a title and up to `limit` alerts (then how many more)."""
    if not alerts:
        return [tr.gettext("🔕 No open alert at the post.")]
    lines = ["<b>" + html.escape(tr.gettext("Open alerts at the post")) + "</b>"]
    lines += [alert_line(config, tr, alert, post_code) for alert in alerts[:limit]]
    if len(alerts) > limit:
        extra = len(alerts) - limit
        lines.append(tr.ngettext("…and {n} more", "…and {n} more", extra).format(n=extra))
    return lines


def item_line(
    tr: Translator,
    number: int,
    item: dict[str, Any],
    zone: str,
    limit: int | None,
    *,
    contested: bool = False,
) -> str:
    """'1. ⏳ vehicle AB-123 held at gate 2 (since Nov 23)': escaped, cut to `limit` when given; ⚠️ marks
    the contested item."""
    text = str(item.get("text", ""))
    shown = html.escape(preview(text, limit) if limit else text)
    mark = "⚠️" if contested else "✔️" if item.get("done") else "⏳"
    line = f"{number}. {mark} {shown}"
    since = item.get("since")
    if item.get("carried") and since:
        line += (
            " <i>("
            + html.escape(
                tr.gettext("since {day}").format(day=day_label(tr, datetime.fromisoformat(since), zone))
            )
            + ")</i>"
        )
    return line


def checklist_lines(tr: Translator, checklist: list[dict[str, Any]], *, quiet: bool = False) -> list[str]:
    """'Checklist 4/6', then what was ticked and what was not, on two short lines; one line when nothing was
    ticked (none at all when `quiet`: a "nothing to report" sent in one tap)."""
    if not checklist:
        return []

    def name(entry: dict[str, Any]) -> str:
        return str(entry.get(tr.language) or entry.get("fr") or entry.get("code"))

    ticked = [name(e) for e in checklist if e.get("done")]
    unticked = [name(e) for e in checklist if not e.get("done")]
    if not ticked:
        if quiet:
            return []
        return [
            html.escape(tr.gettext("⬜ Checklist: nothing ticked (0/{total})").format(total=len(checklist)))
        ]
    lines = [
        "<b>"
        + html.escape(tr.gettext("Checklist {done}/{total}").format(done=len(ticked), total=len(checklist)))
        + "</b>",
        "☑️ " + html.escape(" · ".join(ticked)),
    ]
    if unticked:
        lines.append("⬜ " + html.escape(" · ".join(unticked)))
    return lines


def spaced(*sections: list[str]) -> list[str]:
    """Sections one after the other, a blank line between two that are not empty."""
    lines: list[str] = []
    for section in sections:
        if section:
            lines += ([""] if lines else []) + section
    return lines


def split_text(text: str, size: int = PIECE) -> list[str]:
    """A long text as lines of at most `size` characters once escaped (cut at a space where possible)."""
    pieces: list[str] = []
    for raw_line in text.split("\n"):
        rest = raw_line
        while len(html.escape(rest)) > size:
            cut = size
            while len(html.escape(rest[:cut])) > size:
                cut -= 1
            space = rest.rfind(" ", size // 2, cut)
            cut = space if space > 0 else cut
            pieces.append(rest[:cut])
            rest = rest[cut:].lstrip(" ")
        pieces.append(rest)
    return pieces


def pack(lines: Sequence[str], budget: int = MESSAGE_BUDGET) -> list[str]:
    """Lines (each under the budget) packed into as few messages as fit."""
    messages: list[list[str]] = [[]]
    used = 0
    for line in lines:
        if messages[-1] and used + len(line) + 1 > budget:
            messages.append([])
            used = 0
        messages[-1].append(line)
        used += len(line) + 1
    return ["\n".join(message).strip("\n") or "…" for message in messages]


# ----- a handover, as its readers see it --------------------------------------------------------------------


@dataclass
class HandoverView:
    """A handover and the names its copies show."""

    handover: Handover
    names: dict[int, str] = field(default_factory=dict)

    def name(self, member_id: int | None) -> str:
        """A member's display name, escaped."""
        return html.escape(self.names.get(member_id or 0, "?"))


def _title(config: Config, tr: Translator, handover: Handover) -> list[str]:
    title = tr.gettext("📋 <b>Handover · {service}</b>").format(
        service=service_label(config, tr, handover.service_code)
    )
    if handover.nothing_to_report:
        title += " · " + html.escape(tr.gettext("Nothing to report"))
    return [
        title,
        html.escape(config.post_name(handover.post_code))
        + " · "
        + html.escape(shift_label(config, tr, handover.post_code, handover.shift_change_at)),
    ]


def _author_line(config: Config, tr: Translator, view: HandoverView) -> str:
    handover = view.handover
    zone = config.post_zone(handover.post_code)
    return tr.gettext("✍️ {name} · sent at {time}").format(
        name=view.name(handover.author_member_id), time=tr.time(handover.written_at, zone)
    )


def status_lines(config: Config, tr: Translator, view: HandoverView, *, excerpt: int | None) -> list[str]:
    """Where the handover stands: pending (and escalated), taken over, or contested; excerpt: cut remarks."""
    handover = view.handover
    zone = config.post_zone(handover.post_code)

    def cut(text: str | None) -> str:
        text = text or ""
        return html.escape(preview(text, excerpt) if excerpt else text)

    if handover.state == HandoverState.RECORDED:
        return [
            tr.gettext("📁 <b>Recorded</b>: nobody else of {service} at the post to take it over.").format(
                service=service_label(config, tr, handover.service_code)
            )
        ]
    if handover.state == HandoverState.PENDING or handover.taken_at is None:
        lines = [
            tr.gettext("⏳ <b>Waiting for the incoming shift</b> (expected by {time}).").format(
                time=tr.time(handover.accept_by, zone)
            )
        ]
        if handover.escalated_at is not None:
            lines.append(
                tr.gettext("⏰ Not taken over: reported to the chiefs at {time}.").format(
                    time=tr.time(handover.escalated_at, zone)
                )
            )
        return lines
    taken = tr.gettext("✅ <b>Taken over by {name} at {time}</b>").format(
        name=view.name(handover.taken_by_member_id), time=tr.time(handover.taken_at, zone)
    )
    if handover.state == HandoverState.CONTESTED:
        taken = tr.gettext("⚠️ <b>Taken over by {name} at {time}, contested</b>").format(
            name=view.name(handover.taken_by_member_id), time=tr.time(handover.taken_at, zone)
        )
    lines = [taken]
    if handover.escalated_at is not None:
        lines.append(
            tr.gettext("⏰ It had been reported to the chiefs at {time}.").format(
                time=tr.time(handover.escalated_at, zone)
            )
        )
    if handover.taken_remarks:
        lines.append(tr.gettext("💬 Remarks: {text}").format(text=cut(handover.taken_remarks)))
    if handover.state == HandoverState.CONTESTED:
        lines.append(contested_line(tr, handover, excerpt=excerpt))
        lines.append(tr.gettext("Reason: {text}").format(text=cut(handover.contest_reason)))
    return lines


def contested_line(tr: Translator, handover: Handover, *, excerpt: int | None) -> str:
    """'Item 2 contested: «…»' or 'The handover as a whole is contested.'"""
    number = handover.contested_item or 0
    if 1 <= number <= len(handover.items):
        text = str(handover.items[number - 1].get("text", ""))
        return tr.gettext("Item {n} contested: “{text}”").format(
            n=number, text=html.escape(preview(text, excerpt) if excerpt else text)
        )
    return tr.gettext("The handover as a whole is contested.")


def _item_sections(
    tr: Translator, handover: Handover, zone: str, limit: int | None
) -> tuple[list[str], list[str]]:
    """(open items with their title, settled items with theirs), numbered in stored order."""
    items = handover.items
    contested = handover.contested_item if handover.state == HandoverState.CONTESTED else None

    def line(number: int, item: dict[str, Any]) -> str:
        return item_line(tr, number, item, zone, limit, contested=number == contested)

    open_lines = [line(n, i) for n, i in enumerate(items, 1) if not i.get("done")]
    done_lines = [line(n, i) for n, i in enumerate(items, 1) if i.get("done")]
    if open_lines:
        open_lines.insert(0, "<b>" + html.escape(tr.gettext("To follow up")) + "</b>")
    if done_lines:
        done_lines.insert(0, "<b>" + html.escape(tr.gettext("Settled")) + "</b>")
    return open_lines, done_lines


def _item_body(tr: Translator, handover: Handover, zone: str, limit: int | None) -> list[str]:
    """The items as a copy and the full text show them: open ones, then settled ones, or "No item." when
    there is none (remarks only; "nothing to report" says so in its checklist line)."""
    if not handover.items and not handover.nothing_to_report:
        return [html.escape(tr.gettext("No item."))]
    open_lines, done_lines = _item_sections(tr, handover, zone, limit)
    return open_lines + ([""] if open_lines and done_lines else []) + done_lines


def render_copy(
    config: Config, tr: Translator, view: HandoverView, *, preview: bool = False
) -> tuple[str, bool]:
    """One reader's copy (a status card): what fits in a message, and whether something was left out.

    `preview`: the author's last look before sending (no status yet).
    """
    handover = view.handover
    zone = config.post_zone(handover.post_code)
    head = [*_title(config, tr, handover), _author_line(config, tr, view), ""]
    if preview:
        head = [
            "👁 <b>" + html.escape(tr.gettext("Check your handover, then send it.")) + "</b>",
            *head[:2],
            "",
        ]
    truncated = False
    tail: list[str] = [""]
    tail += spaced(
        checklist_lines(tr, handover.checklist, quiet=handover.nothing_to_report),
        alert_lines(config, tr, handover.alerts, handover.post_code, ALERTS_SHOWN),
    )
    truncated |= len(handover.alerts) > ALERTS_SHOWN
    if handover.remarks:
        tail += ["", "<b>" + html.escape(tr.gettext("Remarks")) + "</b>"]
        # A block under its heading, not a line: the remarks keep their line breaks.
        tail.append(html.escape(excerpt(handover.remarks, TEXT_EXCERPT)))
        truncated |= len(handover.remarks) > TEXT_EXCERPT
    if handover.photo_file_id:
        tail.append(tr.gettext("📷 Photo attached (next message)."))
    if not preview:
        tail += ["", *status_lines(config, tr, view, excerpt=TEXT_EXCERPT)]
    truncated |= any(
        len(text or "") > TEXT_EXCERPT for text in (handover.taken_remarks, handover.contest_reason)
    )
    body = _item_body(tr, handover, zone, ITEM_EXCERPT)
    truncated |= any(len(str(i.get("text", ""))) > ITEM_EXCERPT for i in handover.items)
    used = sum(len(line) + 1 for line in head + tail) + 80
    kept = fit_lines(tr, body, budget=max(200, MESSAGE_BUDGET - used))
    if len(kept) < len(body) or (kept and kept[-1] not in body):
        truncated = True
    if truncated and preview:
        tail.append(
            tr.gettext("📄 Too long for one message: readers get the start and a “Read it all” button.")
        )
    elif truncated:
        tail.append(tr.gettext("📄 Part of it is cut: “Read it all” sends the whole text."))
    # Sections that came out empty (no item: nothing to report) leave no double blank line on a phone.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(head + kept + tail)).strip(), truncated


def full_lines(config: Config, tr: Translator, view: HandoverView) -> list[str]:
    """The whole handover with its acceptance, nothing cut, as lines each short enough to pack (HTML)."""
    handover = view.handover
    zone = config.post_zone(handover.post_code)
    lines = [*_title(config, tr, handover), _author_line(config, tr, view), ""]
    # The same items as the copy: a handover of remarks only says "No item." here too, not a blank line.
    body = _item_body(tr, handover, zone, None)
    lines += [*body, ""] if body else []
    lines += spaced(
        checklist_lines(tr, handover.checklist, quiet=handover.nothing_to_report),
        alert_lines(config, tr, handover.alerts, handover.post_code, len(handover.alerts)),
    )
    if handover.remarks:
        lines += ["", "<b>" + html.escape(tr.gettext("Remarks")) + "</b>"]
        lines += [html.escape(piece) for piece in split_text(handover.remarks)]
    if handover.photo_file_id:
        lines.append(tr.gettext("📷 Photo attached (next message)."))
    lines.append("")
    for line in status_lines(config, tr, view, excerpt=None):
        lines += line.split("\n")
    return [piece for line in lines for piece in _fit_line(line)]


def render_full(config: Config, tr: Translator, view: HandoverView) -> list[str]:
    """The whole handover, with its acceptance, as messages under Telegram's limit (nothing cut), each
    headed "📄 Full text (2/3)" so that it is never taken for the live copy."""
    handover = view.handover
    zone = config.post_zone(handover.post_code)
    messages = pack(full_lines(config, tr, view), budget=MESSAGE_BUDGET - 120)
    label = tr.gettext("📄 Full text · {service} · {time} ({page}/{pages})")
    return [
        "<i>"
        + label.format(
            service=service_label(config, tr, handover.service_code),
            time=tr.time(handover.shift_change_at, zone),
            page=index,
            pages=len(messages),
        )
        + "</i>\n"
        + message
        for index, message in enumerate(messages, 1)
    ]


def _fit_line(line: str) -> list[str]:
    """A rendered line longer than a piece (a long remark in a status line) split into escaped pieces."""
    if len(line) <= PIECE:
        return [line]
    # Status lines hold escaped text after a short label: cut the visible text again, safely.
    plain = html.unescape(re.sub(r"<[^>]+>", "", line))
    return [html.escape(piece) for piece in split_text(plain)]


def copy_markup(
    tr: Translator, handover: Handover, *, may_accept: bool, truncated: bool
) -> InlineKeyboardMarkup | None:
    """Accept / Accept with remarks / Contest for the incoming shift while pending; "Read it all" when cut."""
    rows: list[list[tuple[str, str]]] = []
    if may_accept and handover.state == HandoverState.PENDING:
        rows.append([(tr.gettext("✅ Accept"), encode(PREFIX, "acc", handover.id))])
        rows.append(
            [
                (tr.gettext("💬 With remarks"), encode(PREFIX, "rem", handover.id)),
                (tr.gettext("⚠️ Contest"), encode(PREFIX, "con", handover.id)),
            ]
        )
    if truncated:
        rows.append([(tr.gettext("📄 Read it all"), encode(PREFIX, "full", handover.id))])
    return inline(rows) if rows else None


def open_markup(tr: Translator, handover_id: int) -> InlineKeyboardMarkup:
    """One button that opens a handover (escalations, contests, "already sent")."""
    return inline([[(tr.gettext("📋 Open the handover"), encode(PREFIX, "open", handover_id))]])


# ----- the draft --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftView:
    """What the draft's views show: the draft's answers and the post's open alerts now."""

    post_code: str
    service_code: str
    shift_change_at: datetime
    items: list[dict[str, Any]]
    ticked: list[str]
    remarks: str | None
    photo: bool
    alerts: list[dict[str, Any]]

    @property
    def new_items(self) -> int:
        """Items written in this draft (not carried over)."""
        return sum(1 for i in self.items if not i.get("carried"))


def draft_header(config: Config, tr: Translator, view: DraftView) -> list[str]:
    """'📝 Handover · Customs' and the shift change it is for."""
    return [
        tr.gettext("📝 <b>Handover · {service}</b>").format(
            service=service_label(config, tr, view.service_code)
        ),
        html.escape(config.post_name(view.post_code))
        + " · "
        + html.escape(shift_label(config, tr, view.post_code, view.shift_change_at)),
    ]


def draft_counts(config: Config, tr: Translator, view: DraftView) -> str:
    """'3 items · checklist 2/6 · remarks · photo': where the draft stands, on one line."""
    parts = [tr.ngettext("{n} item", "{n} items", len(view.items)).format(n=len(view.items))]
    total = len(config.handovers.checklist(view.service_code))
    if total:
        parts.append(tr.gettext("checklist {done}/{total}").format(done=len(view.ticked), total=total))
    if view.remarks:
        parts.append(tr.gettext("remarks"))
    if view.photo:
        parts.append(tr.gettext("photo"))
    return html.escape(" · ".join(parts))


def draft_text(config: Config, tr: Translator, view: DraftView, *, resumed: bool = False) -> str:
    """The draft's main view: what will go with it, and how to write."""
    zone = config.post_zone(view.post_code)
    lines = draft_header(config, tr, view)
    if resumed:
        lines.insert(0, tr.gettext("▶️ Your draft, as you left it."))
    lines.append("")
    lines += alert_lines(config, tr, view.alerts, view.post_code, ALERTS_SHOWN)
    if view.alerts:
        lines.append("<i>" + html.escape(tr.gettext("Listed with your handover automatically.")) + "</i>")
    carried = [(n, i) for n, i in enumerate(view.items, 1) if i.get("carried")]
    if carried:
        lines += ["", "<b>" + html.escape(tr.gettext("Carried over from the last handover")) + "</b>"]
        shown = [item_line(tr, n, i, zone, 80) for n, i in carried]
        lines += fit_lines(tr, shown, budget=1500)
        lines.append("<i>" + html.escape(tr.gettext("Settled since? Tap ✏️ Items to mark it.")) + "</i>")
    if view.items or view.ticked or view.remarks or view.photo:
        lines += ["", draft_counts(config, tr, view)]
    lines += ["", html.escape(tr.gettext("Write what the next shift must know, one item per line."))]
    if view.new_items == 0:
        lines.append(html.escape(tr.gettext("Nothing to report? One tap: ✅ Nothing to report.")))
    return "\n".join(lines)


def draft_markup(config: Config, tr: Translator, draft_id: int, view: DraftView) -> InlineKeyboardMarkup:
    """The draft's main buttons: nothing to report (while nothing new is written), items, checklist,
    remarks, review and send, cancel."""
    rows: list[list[tuple[str, str]]] = []
    if view.new_items == 0:
        rows.append([(tr.gettext("✅ Nothing to report"), encode(PREFIX, "ras", draft_id))])
    second: list[tuple[str, str]] = []
    if view.items:
        second.append(
            (tr.gettext("✏️ Items ({n})").format(n=len(view.items)), encode(PREFIX, "ed", draft_id, 0))
        )
    total = len(config.handovers.checklist(view.service_code))
    if total:
        second.append(
            (
                tr.gettext("☑️ Checklist {done}/{total}").format(done=len(view.ticked), total=total),
                encode(PREFIX, "ck", draft_id),
            )
        )
    if second:
        rows.append(second)
    rows.append(
        [
            (tr.gettext("💬 Remarks"), encode(PREFIX, "rmk", draft_id)),
            (tr.gettext("👁 Review and send"), encode(PREFIX, "rv", draft_id)),
        ]
    )
    rows.append([(tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id))])
    return inline(rows)


def added_text(config: Config, tr: Translator, view: DraftView, added: int) -> str:
    """The answer to typed items: how many were added, and where the draft stands."""
    return "\n".join(
        [
            tr.ngettext("✅ {n} item added.", "✅ {n} items added.", added).format(n=added),
            draft_counts(config, tr, view),
            html.escape(tr.gettext("Write more, or review and send.")),
        ]
    )


def items_text(config: Config, tr: Translator, view: DraftView, page: int) -> str:
    """The item editor: one page of items, and what a tap does."""
    zone = config.post_zone(view.post_code)
    pages = max(1, -(-len(view.items) // ITEMS_PAGE))
    lines = [
        "✏️ <b>" + html.escape(tr.gettext("Items")) + "</b>" + (f" ({page + 1}/{pages})" if pages > 1 else ""),
        html.escape(tr.gettext("Tap an item: ⏳ to follow up ⇄ ✔️ settled. 🗑 removes an item you wrote.")),
        "",
    ]
    start = page * ITEMS_PAGE
    for number, item in enumerate(view.items[start : start + ITEMS_PAGE], start + 1):
        lines.append(item_line(tr, number, item, zone, 300))
    return "\n".join(lines)


def items_markup(tr: Translator, draft_id: int, view: DraftView, page: int) -> InlineKeyboardMarkup:
    """A row per item of the page (toggle settled, and remove for written ones), paging, back."""
    rows: list[list[tuple[str, str]]] = []
    start = page * ITEMS_PAGE
    for number, item in enumerate(view.items[start : start + ITEMS_PAGE], start + 1):
        done = bool(item.get("done"))
        text = str(item.get("text", ""))
        tag = item_tag(text)
        row = [
            (
                f"{number}. {'✔️' if done else '⏳'} {preview(text, BUTTON_TEXT)}",
                encode(PREFIX, "it", draft_id, number, tag, 0 if done else 1),
            )
        ]
        if not item.get("carried"):
            row.append(("🗑", encode(PREFIX, "del", draft_id, number, tag)))
        rows.append(row)
    pages = max(1, -(-len(view.items) // ITEMS_PAGE))
    nav = []
    if page > 0:
        nav.append(("◀️", encode(PREFIX, "ed", draft_id, page - 1)))
    if page + 1 < pages:
        nav.append(("▶️", encode(PREFIX, "ed", draft_id, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([(tr.gettext("↩️ Back"), encode(PREFIX, "bk", draft_id))])
    return inline(rows)


def checklist_text(config: Config, tr: Translator, view: DraftView) -> str:
    """The checklist view: what a tap does."""
    return "\n".join(
        [
            "☑️ <b>"
            + html.escape(
                tr.gettext("Checklist · {service}").format(
                    service=config.service_name(view.service_code, tr.language)
                )
            )
            + "</b>",
            html.escape(tr.gettext("Tick what you hand over in good order.")),
        ]
    )


def checklist_markup(config: Config, tr: Translator, draft_id: int, view: DraftView) -> InlineKeyboardMarkup:
    """One toggle per checklist entry, then back."""
    rows = []
    for entry in config.handovers.checklist(view.service_code):
        ticked = entry.code in view.ticked
        rows.append(
            [
                (
                    f"{'☑️' if ticked else '⬜'} {entry.label.get(tr.language)}",
                    encode(PREFIX, "ct", draft_id, entry.code, 0 if ticked else 1),
                )
            ]
        )
    rows.append([(tr.gettext("↩️ Back"), encode(PREFIX, "bk", draft_id))])
    return inline(rows)


def review_markup(tr: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """Send / Edit / Cancel under the summary."""
    return inline(
        [
            [
                (tr.gettext("✅ Send"), encode(PREFIX, "ok", draft_id)),
                (tr.gettext("✏️ Edit"), encode(PREFIX, "bk", draft_id)),
            ],
            [(tr.gettext("❌ Cancel"), encode(PREFIX, "no", draft_id))],
        ]
    )


def remarks_prompt(tr: Translator, limit: int) -> str:
    """What the remarks step asks."""
    return tr.gettext(
        "💬 Write your remarks in one message (up to {limit} characters). They replace earlier ones."
    ).format(limit=tr.number(limit))


def back_markup(tr: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """Back to the draft's main view."""
    return inline([[(tr.gettext("↩️ Back"), encode(PREFIX, "bk", draft_id))]])


def too_many_items(tr: Translator, count: int, limit: int) -> str:
    """Refusal of a message that would take the handover past its item limit."""
    return tr.gettext(
        "Too many items: this message would bring the handover to {count}. The limit is {limit} items per "
        "handover: group some together and send the message again."
    ).format(count=tr.number(count), limit=tr.number(limit))


def item_too_long(tr: Translator, number: int, length: int, limit: int) -> str:
    """Refusal of an over-long item, stating the limit."""
    return tr.gettext(
        "Line {n} is too long ({length} characters). The limit is {limit} characters per item: shorten it "
        "or split it over several lines, and send the message again."
    ).format(n=number, length=tr.number(length), limit=tr.number(limit))


def text_too_long(tr: Translator, length: int, limit: int) -> str:
    """Refusal of over-long remarks or reasons, stating the limit."""
    return tr.gettext(
        "This text is too long ({length} characters). The limit is {limit} characters: shorten it and send "
        "it again."
    ).format(length=tr.number(length), limit=tr.number(limit))


def sent_text(tr: Translator, count: int) -> str:
    """What the author's review message becomes once sent."""
    return tr.ngettext(
        "✅ Handover sent to {n} person. Your copy follows: it will show who takes it over.",
        "✅ Handover sent to {n} people. Your copy follows: it will show who takes it over.",
        count,
    ).format(n=count)


def settled_prompt_text(tr: Translator, count: int | None) -> str:
    """What the draft's earlier messages become once it is sent (`count` readers; None: nobody to take it
    over), so that none still reads as a question waiting for an answer."""
    if count is None:
        return tr.gettext("📁 Handover recorded.")
    return tr.ngettext("✅ Handover sent to {n} person.", "✅ Handover sent to {n} people.", count).format(
        n=count
    )


def sent_alone_text(config: Config, tr: Translator, service_code: str) -> str:
    """What the author reads when nobody else of the service is at the post to take the handover over."""
    return tr.gettext(
        "✅ Handover recorded. ⚠️ Nobody else of {service} is at the post to take it over: it stays on "
        "record, but no incoming shift will accept it."
    ).format(service=service_label(config, tr, service_code))


def already_sent_text(
    config: Config, tr: Translator, handover: Handover, author: str, *, reader_id: int | None
) -> str:
    """'Customs' handover for the 07:00 shift change was already sent by Awa at 06:52.', or to Awa herself
    'You already sent Customs' handover for the 07:00 shift change, at 06:52.'"""
    zone = config.post_zone(handover.post_code)
    values = {
        "service": service_label(config, tr, handover.service_code),
        "time": tr.time(handover.shift_change_at, zone),
        "sent": tr.time(handover.written_at, zone),
    }
    if handover.author_member_id == reader_id:
        # Told "already sent by <their own name>", people took it for someone else's handover.
        return tr.gettext(
            "You already sent the {service} handover for the {time} shift change, at {sent}."
        ).format(**values)
    return tr.gettext(
        "The {service} handover for the {time} shift change was already sent by {name} at {sent}."
    ).format(name=html.escape(author), **values)


# ----- receiving --------------------------------------------------------------------------------------------


def contest_picker_text(config: Config, tr: Translator, view: HandoverView, page: int) -> str:
    """'Which item do you contest?' with one page of the items."""
    handover = view.handover
    zone = config.post_zone(handover.post_code)
    lines = [
        "⚠️ <b>" + html.escape(tr.gettext("Which item do you contest?")) + "</b>",
        service_label(config, tr, handover.service_code)
        + " · "
        + html.escape(shift_label(config, tr, handover.post_code, handover.shift_change_at)),
        "",
    ]
    start = page * ITEMS_PAGE
    for number, item in enumerate(handover.items[start : start + ITEMS_PAGE], start + 1):
        lines.append(item_line(tr, number, item, zone, 200))
    return "\n".join(lines)


def contest_picker_markup(tr: Translator, handover: Handover, page: int) -> InlineKeyboardMarkup:
    """A button per item of the page, the handover as a whole, paging, cancel."""
    rows: list[list[tuple[str, str]]] = []
    start = page * ITEMS_PAGE
    for number, item in enumerate(handover.items[start : start + ITEMS_PAGE], start + 1):
        rows.append(
            [
                (
                    f"{number}. {preview(str(item.get('text', '')), ROW_TEXT)}",
                    encode(PREFIX, "cpk", handover.id, number),
                )
            ]
        )
    pages = max(1, -(-len(handover.items) // ITEMS_PAGE))
    nav = []
    if page > 0:
        nav.append(("◀️", encode(PREFIX, "cpg", handover.id, page - 1)))
    if page + 1 < pages:
        nav.append(("▶️", encode(PREFIX, "cpg", handover.id, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([(tr.gettext("The handover as a whole"), encode(PREFIX, "cpk", handover.id, 0))])
    rows.append([(tr.gettext("❌ Cancel"), encode(PREFIX, "cno", handover.id))])
    return inline(rows)


def reply_prompt(tr: Translator, *, contest: bool, item: int, limit: int) -> str:
    """What the remarks / reason step asks."""
    if contest:
        what = tr.gettext("Item {n}.").format(n=item) if item else tr.gettext("The handover as a whole.")
        return (
            what
            + " "
            + tr.gettext("Why do you contest it? One message, up to {limit} characters.").format(
                limit=tr.number(limit)
            )
        )
    return tr.gettext(
        "💬 Write your remarks in one message (up to {limit} characters): the handover is yours once "
        "they are sent."
    ).format(limit=tr.number(limit))


def reply_cancel_markup(tr: Translator, draft_id: int) -> InlineKeyboardMarkup:
    """Cancel under the remarks / reason question."""
    return inline([[(tr.gettext("❌ Cancel"), encode(PREFIX, "rno", draft_id))]])


def taken_by_text(config: Config, tr: Translator, handover: Handover, name: str) -> str:
    """'Already taken over by Moussa at 07:04.'"""
    assert handover.taken_at is not None
    return tr.gettext("Already taken over by {name} at {time}.").format(
        name=name, time=tr.time(handover.taken_at, config.post_zone(handover.post_code))
    )


def contest_notice(config: Config, tr: Translator, view: HandoverView) -> str:
    """What the author and the chiefs read at once when a handover is contested."""
    handover = view.handover
    assert handover.taken_at is not None
    zone = config.post_zone(handover.post_code)
    return "\n".join(
        [
            tr.gettext("⚠️ <b>Handover contested</b> · {service} · {post}").format(
                service=service_label(config, tr, handover.service_code),
                post=html.escape(config.post_name(handover.post_code)),
            ),
            tr.gettext("{shift}: {name} contested it at {time}.").format(
                shift=html.escape(
                    capitalized(shift_label(config, tr, handover.post_code, handover.shift_change_at))
                ),
                name=view.name(handover.taken_by_member_id),
                time=tr.time(handover.taken_at, zone),
            ),
            contested_line(tr, handover, excerpt=TEXT_EXCERPT),
            tr.gettext("Reason: {text}").format(
                text=html.escape(preview(handover.contest_reason or "", TEXT_EXCERPT))
            ),
        ]
    )


def escalation_notice(config: Config, tr: Translator, view: HandoverView, minutes: int) -> str:
    """What the chiefs read when a handover was not taken over in time."""
    handover = view.handover
    zone = config.post_zone(handover.post_code)
    return "\n".join(
        [
            tr.gettext("⏰ <b>Handover not taken over</b> · {service} · {post}").format(
                service=service_label(config, tr, handover.service_code),
                post=html.escape(config.post_name(handover.post_code)),
            ),
            tr.gettext(
                "{shift}: sent at {sent} by {name}, still not taken over {delay} after the change."
            ).format(
                shift=html.escape(
                    capitalized(shift_label(config, tr, handover.post_code, handover.shift_change_at))
                ),
                sent=tr.time(handover.written_at, zone),
                name=view.name(handover.author_member_id),
                delay=tr.duration(minutes * 60),
            ),
        ]
    )


def missing_notice(
    config: Config, tr: Translator, post_code: str, change_at: datetime, services: list[str], minutes: int
) -> str:
    """What the chiefs read when services wrote no handover in time."""
    names = ", ".join(config.service_name(s, tr.language) for s in services)
    return "\n".join(
        [
            tr.ngettext(
                "⚠️ <b>Missing handover</b> · {post}",
                "⚠️ <b>Missing handovers</b> · {post}",
                len(services),
            ).format(post=html.escape(config.post_name(post_code))),
            tr.gettext("{shift}: {delay} after the change, no handover from: {services}.").format(
                shift=html.escape(capitalized(shift_label(config, tr, post_code, change_at))),
                services=html.escape(names),
                delay=tr.duration(minutes * 60),
            ),
        ]
    )


def post_view_markup(tr: Translator, post_code: str) -> InlineKeyboardMarkup:
    """One button to the post's handovers (/handovers)."""
    return inline([[(tr.gettext("📋 The post's handovers"), encode(PREFIX, "post", post_code))]])


# ----- the chiefs' view -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceStatus:
    """One service at one shift change, for the chiefs' view."""

    service_code: str
    handover: Handover | None
    # No agent of the service at the post: nobody to write it.
    staffed: bool
    # The missing report's time has come (a service that wrote nothing is then missing).
    overdue: bool


def state_text(
    config: Config, tr: Translator, status: ServiceStatus, names: dict[int, str], zone: str
) -> str:
    """'✍️ 06:52 Awa → ✅ 07:04 Moussa 💬', '❌ missing'...: one service's state at one shift change."""
    handover = status.handover
    if handover is None:
        if not status.staffed:
            return html.escape(tr.gettext("no agent at the post"))
        if status.overdue:
            return html.escape(tr.gettext("❌ missing"))
        return html.escape(tr.gettext("… not written yet"))

    def name(member_id: int | None) -> str:
        return html.escape(names.get(member_id or 0, "?"))

    written = (
        tr.gettext("🆗 nothing to report, {time} {name}")
        if handover.nothing_to_report
        else tr.gettext("✍️ {time} {name}")
    ).format(time=tr.time(handover.written_at, zone), name=name(handover.author_member_id))
    if handover.written_at > handover.shift_change_at + timedelta(
        minutes=config.handovers.missing_after_minutes
    ):
        written += " " + html.escape(tr.gettext("(late)"))
    if handover.state == HandoverState.ACCEPTED and handover.taken_at is not None:
        taken = tr.gettext("✅ {time} {name}").format(
            time=tr.time(handover.taken_at, zone), name=name(handover.taken_by_member_id)
        )
        if handover.taken_remarks:
            taken += " 💬"
    elif handover.state == HandoverState.CONTESTED and handover.taken_at is not None:
        taken = tr.gettext("⚠️ contested {time} {name}").format(
            time=tr.time(handover.taken_at, zone), name=name(handover.taken_by_member_id)
        )
    elif handover.state == HandoverState.RECORDED:
        taken = html.escape(tr.gettext("📁 recorded, nobody else of the service to take it over"))
    elif handover.escalated_at is not None:
        taken = tr.gettext("⏰ not taken over (reported {time})").format(
            time=tr.time(handover.escalated_at, zone)
        )
    else:
        taken = html.escape(tr.gettext("⏳ pending"))
    return f"{written} → {taken}"


def status_line(
    config: Config, tr: Translator, status: ServiceStatus, names: dict[int, str], zone: str
) -> str:
    """'<b>Customs</b>: ✍️ 06:52 Awa → ✅ 07:04 Moussa 💬' in one line."""
    return tr.gettext("<b>{service}</b>: {state}").format(
        service=service_label(config, tr, status.service_code),
        state=state_text(config, tr, status, names, zone),
    )


def day_view_text(
    config: Config,
    tr: Translator,
    post_code: str,
    changes: list[tuple[datetime, list[ServiceStatus]]],
    names: dict[int, str],
) -> str:
    """The chiefs' view of a post: each shift change of the day, a line per service."""
    zone = config.post_zone(post_code)
    lines = [tr.gettext("📋 <b>Handovers · {post}</b>").format(post=html.escape(config.post_name(post_code)))]
    for change_at, statuses in changes:
        lines += ["", "<b>" + html.escape(shift_label(config, tr, post_code, change_at)) + "</b>"]
        lines += [status_line(config, tr, status, names, zone) for status in statuses]
    return "\n".join(lines)


def day_view_markup(
    config: Config,
    tr: Translator,
    post_code: str,
    changes: list[tuple[datetime, list[ServiceStatus]]],
    *,
    back: bool,
) -> InlineKeyboardMarkup:
    """A button per written handover of the view, then the services' histories (and back to the posts)."""
    zone = config.post_zone(post_code)
    buttons = [
        (
            f"📋 {tr.time(change_at, zone)} · {config.service_name(status.service_code, tr.language)}",
            encode(PREFIX, "open", status.handover.id),
        )
        for change_at, statuses in changes
        for status in statuses
        if status.handover is not None
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(tr.gettext("📚 A service's last handovers"), encode(PREFIX, "svcs", post_code))])
    if back:
        rows.append([(tr.gettext("↩️ Posts"), encode(PREFIX, "posts"))])
    return inline(rows)


def posts_markup(config: Config, posts: list[str]) -> InlineKeyboardMarkup:
    """A button per post (coordinators pick one)."""
    buttons = [(config.post_name(code), encode(PREFIX, "post", code)) for code in posts]
    return inline(buttons[i : i + 2] for i in range(0, len(buttons), 2))


def services_markup(config: Config, tr: Translator, post_code: str) -> InlineKeyboardMarkup:
    """A button per service of the post, then back to the day's view."""
    buttons = [
        (config.service_name(code, tr.language), encode(PREFIX, "svc", post_code, code, 0))
        for code in config.post_services(post_code)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(tr.gettext("↩️ Back"), encode(PREFIX, "post", post_code))])
    return inline(rows)


def history_text(
    config: Config,
    tr: Translator,
    post_code: str,
    service_code: str,
    handovers: list[Handover],
    names: dict[int, str],
    page: int,
    total: int,
) -> str:
    """A service's last handovers at a post, newest first, with their state."""
    zone = config.post_zone(post_code)
    lines = [
        tr.gettext("📚 <b>{service} · {post}</b>").format(
            service=service_label(config, tr, service_code), post=html.escape(config.post_name(post_code))
        )
    ]
    if not handovers:
        lines.append(html.escape(tr.gettext("No handover yet.")))
    for handover in handovers:
        status = ServiceStatus(service_code, handover, staffed=True, overdue=True)
        when = html.escape(tr.short_datetime(handover.shift_change_at, zone))
        lines.append(f"• {when} — {state_text(config, tr, status, names, zone)}")
    pages = max(1, -(-total // HISTORY_PAGE))
    if pages > 1:
        lines.append(tr.gettext("Page {page} of {pages}").format(page=page + 1, pages=pages))
    return "\n".join(lines)


def history_markup(
    config: Config,
    tr: Translator,
    post_code: str,
    service_code: str,
    handovers: list[Handover],
    page: int,
    total: int,
) -> InlineKeyboardMarkup:
    """A button per listed handover, paging, back to the services."""
    zone = config.post_zone(post_code)
    buttons = [
        (f"📋 {tr.short_datetime(h.shift_change_at, zone)}", encode(PREFIX, "open", h.id)) for h in handovers
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    nav = []
    if page > 0:
        nav.append(("◀️", encode(PREFIX, "svc", post_code, service_code, page - 1)))
    if (page + 1) * HISTORY_PAGE < total:
        nav.append(("▶️", encode(PREFIX, "svc", post_code, service_code, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([(tr.gettext("↩️ Back"), encode(PREFIX, "svcs", post_code))])
    return inline(rows)
