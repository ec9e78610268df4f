"""Rendering of minutes and action items: the frame in the reader's language and zone, the author's text as
written (escaped), split at paragraph boundaries so that no message passes Telegram's 4,096 characters."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from telegram import InlineKeyboardMarkup

from bot.callbacks import encode
from bot.config import Config
from bot.dates import format_local_date, local_today
from bot.i18n import N_, Translator
from bot.keyboards import inline
from bot.texts import preview
from db.meetings import ActionItem, ActionStatus, CopyKind, Meeting

PREFIX = "mt"
# Visible characters (UTF-16 units, as Telegram counts) per message: 4,096 with room for the part marker.
PART_BUDGET = 3900
# Room kept in the first part for the status line the author's and chiefs' cards gain as items are done.
STATUS_ROOM = 300
_TAG = re.compile(r"<[^>]+>")

DONE_ICON, OPEN_ICON, LATE_ICON = "✅", "⏳", "⏰"
KIND_HEADERS = {
    CopyKind.ITEM: N_("📌 <b>Action item</b> · {owner}"),
    CopyKind.BEFORE: N_("⏰ <b>Due tomorrow</b> · {owner}"),
    CopyKind.DUE: N_("⏰ <b>Due today</b> · {owner}"),
    CopyKind.OVERDUE: N_("⚠️ <b>Overdue action item</b> · {owner}"),
    CopyKind.CHIEF: N_("⚠️ <b>Overdue action item</b> · {owner} · {post}"),
}


def visible_length(text: str) -> int:
    """How long Telegram counts an HTML message: tags removed, entities decoded, in UTF-16 units."""
    plain = html.unescape(_TAG.sub("", text))
    return len(plain.encode("utf-16-le")) // 2


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def pieces(raw: str, limit: int) -> list[str]:
    """A paragraph cut into pieces of at most `limit` characters: at line ends, else spaces, else anywhere."""
    if _units(raw) <= limit:
        return [raw]
    out: list[str] = []
    current = ""
    for token in re.split(r"(?<=\n)|(?<= )", raw):
        if current and _units(current) + _units(token) > limit:
            out.append(current)
            current = ""
        while _units(token) > limit:
            # One word longer than a message (hostile input): cut it anywhere.
            head = token[:limit]
            while _units(head) > limit:
                head = head[:-1]
            out.append(head)
            token = token[len(head) :]
        current += token
    if current:
        out.append(current)
    return [p.rstrip().lstrip("\n") for p in out if p.strip()]


# ----- names and moments ------------------------------------------------------------------------------------


def day_label(tr: Translator, day: date, *, today: date | None = None) -> str:
    """A due date: "ven. 27 nov." / "Fri, Nov 27", with the year when it is not this year."""
    same_year = today is None or today.year == day.year
    if tr.language == "fr":
        return format_local_date(day, "EEE d MMM" if same_year else "EEE d MMM y", "fr")
    return format_local_date(day, "EEE, MMM d" if same_year else "EEE, MMM d, y", tr.language)


def moment_label(tr: Translator, moment: datetime, zone: str) -> str:
    """A meeting's day and time in `zone`: "lun. 23 nov. 2026, 09:00" / "Mon, Nov 23, 2026, 9:00 AM"."""
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(zone))
    day = format_local_date(local, "EEE d MMM y" if tr.language == "fr" else "EEE, MMM d, y", tr.language)
    return f"{day}, {tr.time(moment, zone)}"


def service_with_post(config: Config, tr: Translator, post_code: str, service: str, *, joint: bool) -> str:
    """A service's name, with its post's at a joint meeting (not escaped)."""
    name = config.service_name(service, tr.language)
    return f"{name} · {config.post_name(post_code)}" if joint else name


def owner_label(
    config: Config, tr: Translator, item: ActionItem, *, joint: bool, me: int | None = None
) -> str:
    """Who owns an item, in the reader's language (not escaped): a service, a person, or "You"."""
    if item.owner_member_id is not None:
        if me is not None and item.owner_member_id == me:
            return tr.pgettext("action owner", "You")
        name = item.owner_name or "?"
        return f"{name} · {config.post_name(item.post_code)}" if joint else name
    return service_with_post(config, tr, item.post_code, item.owner_service_code or "", joint=joint)


def is_overdue(config: Config, item: ActionItem, now: datetime) -> bool:
    """Open and past its due day at the owner's post."""
    return item.status == ActionStatus.OPEN and local_today(
        zone=config.post_zone(item.post_code), now=now
    ) > (item.due_on)


def days_late(config: Config, item: ActionItem, now: datetime) -> int:
    """Whole days past the due date at the owner's post (0 when not late)."""
    today = local_today(zone=config.post_zone(item.post_code), now=now)
    return max(0, (today - item.due_on).days)


# ----- the minutes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinutesReader:
    """Who reads a copy of the minutes: their language, their post (zone), and whether it is a status card."""

    language: str
    post_code: str
    card: bool = False


def labelled(tr: Translator, label: str, value: str) -> str:
    """ "Label: value" the reader's way (French puts a space before the colon)."""
    # TRANSLATORS: a label and its value, e.g. "Present: Customs, Police".
    return tr.gettext("{label}: {value}").format(label=label, value=value)


def _attendance(config: Config, tr: Translator, meeting: Meeting, reader_post: str) -> list[str]:
    """Present and absent services, per post at a joint meeting (reader's post first)."""
    posts = sorted(meeting.posts, key=lambda p: p != reader_post)
    lines = []
    present, absent = tr.pgettext("attendance", "Present"), tr.pgettext("attendance", "Absent")
    for label, pairs in ((present, meeting.present), (absent, meeting.absent)):
        by_post = {
            post: [pair.split("/", 1)[1] for pair in pairs if pair.split("/", 1)[0] == post] for post in posts
        }
        if not meeting.partner_post_code:
            names = ", ".join(
                html.escape(config.service_name(s, tr.language)) for s in by_post[meeting.post_code]
            )
            lines.append(labelled(tr, f"<b>{html.escape(label)}</b>", names or "—"))
            continue
        lines.append(f"<b>{html.escape(label)}</b>")
        for post in posts:
            names = ", ".join(html.escape(config.service_name(s, tr.language)) for s in by_post[post])
            lines.append(labelled(tr, html.escape(config.post_name(post)), names or "—"))
    return lines


def _when_lines(config: Config, tr: Translator, meeting: Meeting, reader_post: str) -> str:
    """When it was held, in the reader's post's zone (and the other side's time at a joint meeting)."""
    own_zone = config.post_zone(reader_post, meeting.post_code)
    line = "🕘 " + moment_label(tr, meeting.held_at, own_zone)
    for post in meeting.posts:
        if post != reader_post and config.post_zone(post) != own_zone:
            line += " · " + tr.gettext("{time} in {post}").format(
                time=tr.time(meeting.held_at, config.post_zone(post)),
                post=html.escape(config.post_name(post)),
            )
    return line


def _header(config: Config, tr: Translator, meeting: Meeting, reader_post: str, author: str) -> str:
    if meeting.partner_post_code:
        where = tr.gettext("Joint meeting {post} – {partner}").format(
            post=html.escape(config.post_name(meeting.post_code)),
            partner=html.escape(config.post_name(meeting.partner_post_code)),
        )
    else:
        where = html.escape(config.post_name(meeting.post_code))
    return "\n".join(
        [
            "📋 " + tr.gettext("<b>Minutes</b> · {where}").format(where=where),
            f"<b>{html.escape(meeting.title)}</b>",
            _when_lines(config, tr, meeting, reader_post),
            tr.gettext("✍️ Written by {name}").format(name=html.escape(author)),
        ]
    )


def item_line(
    config: Config, tr: Translator, item: ActionItem, *, joint: bool, now: datetime, status: bool
) -> str:
    """One numbered item of the minutes (with its status icon on a card)."""
    today = local_today(zone=config.post_zone(item.post_code), now=now)
    line = tr.gettext("{n}. <b>{owner}</b> — {task} — {due}").format(
        n=item.position,
        owner=html.escape(owner_label(config, tr, item, joint=joint)),
        task=html.escape(item.text),
        due=day_label(tr, item.due_on, today=today),
    )
    if not status:
        return line
    icon = (
        DONE_ICON
        if item.status == ActionStatus.DONE
        else LATE_ICON
        if is_overdue(config, item, now)
        else OPEN_ICON
    )
    return f"{icon} {line}"


def status_line(
    config: Config, tr: Translator, items: Sequence[ActionItem], now: datetime, addenda: int
) -> str:
    """Where the action items stand, for the author's and chiefs' cards."""
    parts = []
    if items:
        done = sum(1 for i in items if i.status == ActionStatus.DONE)
        parts.append(
            tr.gettext("📊 Action items done: {done} of {total}").format(done=done, total=len(items))
        )
        late = [str(i.position) for i in items if is_overdue(config, i, now)]
        if late:
            parts.append(tr.gettext("⏰ overdue: {numbers}").format(numbers=", ".join(late)))
    if addenda:
        parts.append(tr.ngettext("📎 {n} correction", "📎 {n} corrections", addenda).format(n=addenda))
    return "<i>" + " · ".join(parts) + "</i>" if parts else ""


def _blocks(
    config: Config,
    tr: Translator,
    meeting: Meeting,
    items: Sequence[ActionItem],
    *,
    now: datetime,
    item_status: bool,
    next_line: str,
) -> list[tuple[str, str]]:
    """The body after the frame, as (html, joiner) blocks, each well under one message (list lines are
    bounded by the config's limits; notes are cut at paragraphs, lines, then words)."""
    joint = meeting.partner_post_code is not None
    budget = PART_BUDGET - 400
    blocks: list[tuple[str, str]] = []
    paragraphs = [p for p in re.split(r"\n\s*\n", meeting.notes) if p.strip()]
    if paragraphs:
        heading = "<b>" + html.escape(tr.gettext("📝 Notes")) + "</b>"
        for index, paragraph in enumerate(paragraphs):
            for number, piece in enumerate(pieces(paragraph.strip("\n"), budget)):
                text = html.escape(piece)
                first = index == 0 and number == 0
                blocks.append((f"{heading}\n{text}" if first else text, "\n\n" if number == 0 else "\n"))
    for title, lines in (
        (tr.gettext("✅ Decisions"), [f"{n}. {html.escape(d)}" for n, d in enumerate(meeting.decisions, 1)]),
        (
            tr.gettext("📌 Action items"),
            [item_line(config, tr, i, joint=joint, now=now, status=item_status) for i in items],
        ),
    ):
        for index, line in enumerate(lines):
            blocks.append((f"<b>{html.escape(title)}</b>\n{line}", "\n\n") if index == 0 else (line, "\n"))
    if next_line:
        blocks.append((next_line, "\n\n"))
    return blocks


def _pack(first: str, blocks: list[tuple[str, str]], first_budget: int, budget: int) -> list[str]:
    parts: list[str] = []
    current, used, limit = first, visible_length(first), first_budget
    for text, joiner in blocks:
        size = visible_length(text) + len(joiner)
        if used + size > limit:
            parts.append(current)
            current, used, limit = text, visible_length(text), budget
            continue
        current += joiner + text
        used += size
    parts.append(current)
    return parts


def render_minutes(
    config: Config,
    tr: Translator,
    meeting: Meeting,
    items: Sequence[ActionItem],
    *,
    reader: MinutesReader,
    author: str,
    now: datetime,
    addenda: int = 0,
) -> list[str]:
    """A reader's copy of the minutes, one or several messages (the first is the card when `reader.card`)."""
    frame = (
        _header(config, tr, meeting, reader.post_code, author)
        + "\n\n"
        + "\n".join(_attendance(config, tr, meeting, reader.post_code))
    )
    status = status_line(config, tr, items, now, addenda) if reader.card else ""
    next_line = ""
    if meeting.next_meeting_at is not None:
        zone = config.post_zone(reader.post_code, meeting.post_code)
        next_line = "📅 " + tr.gettext("Next meeting: {moment}").format(
            moment=moment_label(tr, meeting.next_meeting_at, zone)
        )

    def body(with_status: bool) -> list[tuple[str, str]]:
        return _blocks(config, tr, meeting, items, now=now, item_status=with_status, next_line=next_line)

    # Everything in one message when it fits (a card then shows each item's status too).
    single = _pack(frame, body(reader.card), PART_BUDGET - STATUS_ROOM, PART_BUDGET - STATUS_ROOM)
    if len(single) == 1:
        return [single[0] + (f"\n\n{status}" if status else "")]
    marker_room = _units(meeting.title) + 40
    parts = _pack(frame, body(False), PART_BUDGET - STATUS_ROOM, PART_BUDGET - marker_room)
    total = len(parts)
    out = [parts[0] + (f"\n\n{status}" if status else "")]
    for number, part in enumerate(parts[1:], 2):
        marker = tr.gettext("📋 {title} ({n}/{total})").format(
            title=html.escape(meeting.title), n=number, total=total
        )
        out.append(f"<i>{marker}</i>\n\n{part}")
    if total > 1:
        out[0] += "\n" + "<i>" + tr.gettext("(1/{total}: continued below)").format(total=total) + "</i>"
    return out


def card_markup(tr: Translator, meeting: Meeting, *, can_correct: bool) -> InlineKeyboardMarkup | None:
    """The minutes card's button: add a correction (the author and whoever writes minutes at the post)."""
    if not can_correct:
        return None
    return inline([[(tr.gettext("📎 Add a correction"), encode(PREFIX, "fix", meeting.id))]])


def render_addendum(
    config: Config, tr: Translator, meeting: Meeting, text: str, *, author: str, reader_post: str
) -> str:
    """A correction to published minutes, for one reader."""
    zone = config.post_zone(reader_post, meeting.post_code)
    return "\n".join(
        [
            tr.gettext("📎 <b>Correction</b> to the minutes “{title}” of {moment}").format(
                title=html.escape(meeting.title), moment=tr.short_datetime(meeting.held_at, zone)
            ),
            "",
            html.escape(text),
            "",
            "<i>" + tr.gettext("— {name}").format(name=html.escape(author)) + "</i>",
        ]
    )


# ----- action items -----------------------------------------------------------------------------------------


def render_item(
    config: Config,
    tr: Translator,
    item: ActionItem,
    meeting: Meeting,
    *,
    kind: str,
    reader_post: str,
    now: datetime,
    names: dict[int, str],
) -> str:
    """An action item as its owner (or a chief) reads it: what, by when, from which meeting, its state."""
    joint = meeting.partner_post_code is not None
    zone = config.post_zone(reader_post, item.post_code)
    today = local_today(zone=config.post_zone(item.post_code), now=now)
    header = tr.gettext(KIND_HEADERS.get(CopyKind(kind), KIND_HEADERS[CopyKind.ITEM])).format(
        owner=html.escape(owner_label(config, tr, item, joint=joint)),
        post=html.escape(config.post_name(item.post_code)),
    )
    lines = [
        header,
        html.escape(item.text),
        tr.gettext("📅 Due: {day}").format(day=day_label(tr, item.due_on, today=today)),
        tr.gettext("📋 {title}, {moment}").format(
            title=html.escape(preview(meeting.title, 80)), moment=tr.short_datetime(meeting.held_at, zone)
        ),
    ]
    if item.last_note and item.last_note_at is not None:
        lines.append(
            tr.gettext("📝 {name}, {moment}: {note}").format(
                name=html.escape(names.get(item.last_note_by_member_id or 0, "?")),
                moment=tr.short_datetime(item.last_note_at, zone),
                note=html.escape(preview(item.last_note, 300)),
            )
        )
    if item.status == ActionStatus.DONE and item.done_at is not None:
        lines.append(
            tr.gettext("✅ <b>Done</b> · {name}, {moment}").format(
                name=html.escape(names.get(item.done_by_member_id or 0, "?")),
                moment=tr.short_datetime(item.done_at, zone),
            )
        )
    elif is_overdue(config, item, now):
        late = days_late(config, item, now)
        lines.append(tr.ngettext("⏰ {n} day late", "⏰ {n} days late", late).format(n=late))
    return "\n".join(lines)


def item_markup(tr: Translator, item: ActionItem, *, opened: bool = False) -> InlineKeyboardMarkup | None:
    """Done and Progress note, while the item is open (`opened`: shown from /actions, edited in place)."""
    if item.status != ActionStatus.OPEN:
        return None
    done = encode(PREFIX, "done", item.id, "o") if opened else encode(PREFIX, "done", item.id)
    return inline(
        [[(tr.gettext("✅ Done"), done), (tr.gettext("📝 Progress note"), encode(PREFIX, "note", item.id))]]
    )


def listing_line(
    config: Config,
    tr: Translator,
    number: int,
    item: ActionItem,
    meeting: Meeting,
    *,
    me: int,
    now: datetime,
    every_post: bool = False,
) -> str:
    """One line of /actions: its number, owner, task and due date (how late, when it is)."""
    joint = every_post or meeting.partner_post_code is not None
    today = local_today(zone=config.post_zone(item.post_code), now=now)
    late = days_late(config, item, now)
    icon = LATE_ICON if late else "•"
    due = day_label(tr, item.due_on, today=today)
    when = (
        tr.ngettext("{day}, {n} day late", "{day}, {n} days late", late).format(day=due, n=late)
        if late
        else due
    )
    return tr.gettext("{icon} <b>{n}.</b> {owner} — {task} — {when}").format(
        icon=icon,
        n=number,
        owner=html.escape(owner_label(config, tr, item, joint=joint, me=me)),
        task=html.escape(preview(item.text, 90)),
        when=when,
    )
