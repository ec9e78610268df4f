"""Rendering of notices: each reader's copy (their language and zone), the sender's live card, the lists.

Every piece of user text (the notice, names, file names) is escaped here; config names are escaped too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from telegram import InlineKeyboardMarkup

from bot.callbacks import encode
from bot.config import Config
from bot.i18n import N_, Translator, translator
from bot.keyboards import inline
from bot.texts import excerpt, fit_lines, function_name, preview
from db.notices import Notice

PREFIX = "nt"
# Telegram's limits, counted on the text as shown (after HTML parsing).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# Room kept for what a copy's heading may still grow by (a longer month name, an expiry typed later...).
HEADING_MARGIN = 16
EXCERPT = 160
REMINDER_EXCERPT = 300  # a reminder quotes more: it may be all the reader needs

SEEN_BUTTON = N_("☑️ Seen")
# TRANSLATORS: an excerpt of a notice between your language's quotation marks (French: « {text} »).
QUOTED = N_("“{text}”")
AUDIENCE_NAMES = {
    # TRANSLATORS: who a notice is for, after "To:".
    "everyone": N_("everyone"),
    # TRANSLATORS: who a notice is for, after "To:".
    "chiefs": N_("the post chiefs"),
}
_TAG = re.compile(r"<[^>]+>")


def plain_length(text: str) -> int:
    """How long an HTML text is once Telegram has parsed it (what its limits count)."""
    return len(html.unescape(_TAG.sub("", text)))


def quoted(tr: Translator, text: str, limit: int = EXCERPT) -> str:
    """The beginning of a text on one line, escaped, between the reader's quotation marks: “…” or « … »."""
    return tr.gettext(QUOTED).format(text=html.escape(preview(text, limit)))


@dataclass(frozen=True)
class NoticeView:
    """What any rendering of a notice needs (a sent notice, or a draft being checked)."""

    posts: tuple[str, ...]
    audience: dict[str, object]
    language: str
    texts: dict[str, str]
    important: bool
    sent_at: datetime
    expires_at: datetime
    author_name: str
    author_role: str
    author_service_code: str | None
    attachment_kind: str | None = None
    attachment_name: str | None = None
    id: int | None = None
    expired_at: datetime | None = None
    reminded_at: datetime | None = None
    auto_reminded: bool = False
    reminders: int = 0

    @classmethod
    def of(cls, notice: Notice, author_name: str) -> NoticeView:
        """The view of a sent notice."""
        return cls(
            posts=tuple(notice.posts),
            audience=dict(notice.audience),
            language=notice.language,
            texts=dict(notice.texts),
            important=notice.important,
            sent_at=notice.sent_at,
            expires_at=notice.expires_at,
            author_name=author_name,
            author_role=notice.author_role,
            author_service_code=notice.author_service_code,
            attachment_kind=notice.attachment_kind,
            attachment_name=notice.attachment_name,
            id=notice.id,
            expired_at=notice.expired_at,
            reminded_at=notice.reminded_at,
            auto_reminded=notice.auto_reminded,
            reminders=notice.reminders,
        )

    def text_for(self, language: str) -> str:
        """The version a reader of `language` gets."""
        return self.texts.get(language) or self.texts.get(self.language) or ""

    @property
    def limit(self) -> int:
        """What Telegram accepts for one copy: a caption with a photo or a document, else a message."""
        return CAPTION_LIMIT if self.attachment_kind else TEXT_LIMIT


# ----- names ------------------------------------------------------------------------------------------------


def posts_label(config: Config, tr: Translator, posts: Iterable[str]) -> str:
    """One post's name, or "N posts: A, B, C", escaped."""
    chosen = list(posts)
    if len(chosen) == 1:
        return html.escape(config.post_name(chosen[0]))
    if len(chosen) == len(config.posts) and len(chosen) > 1:
        return html.escape(tr.gettext("every post ({n})").format(n=len(chosen)))
    names = ", ".join(config.post_name(p) for p in chosen)
    return html.escape(
        tr.ngettext("{n} post: {names}", "{n} posts: {names}", len(chosen)).format(n=len(chosen), names=names)
    )


def audience_label(config: Config, tr: Translator, audience: dict[str, object]) -> str:
    """Who at the posts: everyone, the chiefs, or the named services (escaped)."""
    kind = str(audience.get("kind") or "everyone")
    if kind == "services":
        services = [str(s) for s in audience.get("services") or ()]  # type: ignore[attr-defined]
        return html.escape(", ".join(config.service_name(s, tr.language) for s in services))
    return html.escape(tr.gettext(AUDIENCE_NAMES.get(kind, AUDIENCE_NAMES["everyone"])))


def author_line(config: Config, tr: Translator, view: NoticeView, zone: str) -> str:
    """ "From Ibrahim (post chief, Gendarmerie) · 23 Nov, 09:12", "From Claire (coordination) · ..."."""
    who = html.escape(view.author_name)
    what = function_name(tr, view.author_role)
    if view.author_service_code:
        what += ", " + config.service_name(view.author_service_code, tr.language)
    # TRANSLATORS: a notice's signature; {role} names a function ("coordination"), never a gendered noun.
    return tr.gettext("From {name} ({role}) · {time}").format(
        name=who, role=html.escape(what), time=tr.short_datetime(view.sent_at, zone)
    )


def validity_line(tr: Translator, view: NoticeView, zone: str, now: datetime | None = None) -> str:
    """ "Valid until 23 Dec, 09:12", or when it expired."""
    if view.expired_at is not None or (now is not None and view.expires_at <= now):
        return tr.gettext("⌛ Expired {time}").format(time=tr.short_datetime(view.expires_at, zone))
    return tr.gettext("Valid until {time}").format(time=tr.short_datetime(view.expires_at, zone))


def title(tr: Translator, view: NoticeView) -> str:
    """ "📢 Notice #12" or "⚠️ IMPORTANT NOTICE #12" (no number before it is sent)."""
    if view.important:
        text = (
            tr.gettext("⚠️ IMPORTANT NOTICE #{id}").format(id=view.id)
            if view.id
            else tr.gettext("⚠️ IMPORTANT NOTICE")
        )
    else:
        text = tr.gettext("📢 Notice #{id}").format(id=view.id) if view.id else tr.gettext("📢 Notice")
    return f"<b>{html.escape(text)}</b>"


def seen_line(tr: Translator, seen_at: datetime, zone: str) -> str:
    """ "✓ Seen 09:42" on a confirmed copy."""
    return "<b>" + tr.gettext("✓ Seen {time}").format(time=tr.time(seen_at, zone)) + "</b>"


# ----- a reader's copy --------------------------------------------------------------------------------------


def render_copy(
    config: Config, view: NoticeView, *, language: str, post_code: str, seen_at: datetime | None = None
) -> str:
    """One reader's copy: heading in their language and their post's zone, their version of the text."""
    tr = translator(language)
    zone = config.post_zone(post_code, view.posts[0] if view.posts else None)
    lines = [
        f"{title(tr, view)} · {html.escape(config.post_name(post_code))}",
        "<i>" + author_line(config, tr, view, zone) + "</i>",
        # A copy is not edited when the notice expires: it says until when it is valid.
        "<i>"
        + tr.gettext("Valid until {time}").format(time=tr.short_datetime(view.expires_at, zone))
        + "</i>",
        "",
        html.escape(view.text_for(language)),
    ]
    if seen_at is not None:
        lines += ["", seen_line(tr, seen_at, zone)]
    return "\n".join(lines)


def copy_markup(tr: Translator, notice_id: int, origin: str | None = None) -> InlineKeyboardMarkup:
    """The copy's one button, "☑️ Seen" ("☑️ Lu")."""
    args: tuple[object, ...] = (notice_id,) if origin is None else (notice_id, origin)
    return inline([[(tr.gettext(SEEN_BUTTON), encode(PREFIX, "seen", *args))]])


def heading_room(config: Config, view: NoticeView) -> int:
    """The longest heading (and "✓ Seen" line) any reader's copy of this notice may carry."""
    # A late time of day and a long month write the longest times; no text: only the heading is measured.
    longest = view.sent_at.replace(hour=12, minute=59)
    probe = replace(view, texts={view.language: ""}, id=view.id or 99999)
    room = 0
    for language in ("fr", "en"):
        for post_code in view.posts or (None,):
            rendered = render_copy(
                config, probe, language=language, post_code=post_code or "", seen_at=longest
            )
            room = max(room, plain_length(rendered))
    return room + HEADING_MARGIN


def text_room(config: Config, view: NoticeView) -> int:
    """How many characters of text a copy of this notice holds within Telegram's limit."""
    return view.limit - heading_room(config, view)


# ----- the sender's card ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Confirmations of a notice by post and service (copies held by active members)."""

    rows: list[tuple[str, str | None, int, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Copies counted."""
        return sum(n for _, _, n, _ in self.rows)

    @property
    def seen(self) -> int:
        """Copies confirmed."""
        return sum(s for _, _, _, s in self.rows)

    def by_post(self) -> dict[str, tuple[int, int]]:
        """(copies, confirmed) per post."""
        result: dict[str, tuple[int, int]] = {}
        for post, _, n, s in self.rows:
            total, seen = result.get(post, (0, 0))
            result[post] = (total + n, seen + s)
        return result

    def by_service(self, post_code: str | None = None) -> dict[str | None, tuple[int, int]]:
        """(copies, confirmed) per service, at one post or across them."""
        result: dict[str | None, tuple[int, int]] = {}
        for post, service, n, s in self.rows:
            if post_code is not None and post != post_code:
                continue
            total, seen = result.get(service, (0, 0))
            result[service] = (total + n, seen + s)
        return result


def _count_line(label: str, total: int, seen: int) -> str:
    mark = "✅" if seen >= total else "⏳"
    return f"{mark} {label} {seen}/{total}"


# The group of an unread copy held by someone of no service who is not a post's chief (none should be: only
# agents and chiefs read notices, and an agent always belongs to a service).
NO_SERVICE = "-"


def service_label(config: Config, tr: Translator, code: str | None) -> str:
    """A service's name, escaped; None groups the chiefs of the whole post (the readers of no service)."""
    if code is None:
        return html.escape(tr.gettext("Post chiefs"))
    if code == NO_SERVICE:
        return html.escape(tr.gettext("no service"))
    return html.escape(config.service_name(code, tr.language))


def _service_order(config: Config, codes: Iterable[str | None]) -> list[str | None]:
    order = {s.code: i for i, s in enumerate(config.services)}
    # Services first, then the chiefs of the whole post (and anyone else of no service).
    return sorted(
        codes, key=lambda c: (c in (None, NO_SERVICE), c == NO_SERVICE, order.get(c or "", 99), c or "")
    )


def card_clock(config: Config, posts: Iterable[str], reader_post: str | None) -> tuple[str, str | None]:
    """The zone a card's times are shown in, and the post to name with them when its reader could take them
    for another zone's (a coordinator, or posts on both sides of a border)."""
    chosen = list(posts)
    home = reader_post if reader_post in chosen else None
    anchor = home or (chosen[0] if chosen else None)
    zones = {config.post_zone(p) for p in chosen}
    named = None if home is not None and len(zones) == 1 else anchor
    return config.post_zone(anchor), named


def clock_note(config: Config, tr: Translator, named: str | None, *, plain: bool = False) -> str:
    """ " (Birni N'Konni time)" after a time that needs its zone named, else nothing.

    HTML (the post's name escaped), or `plain` text for a button's answer, which Telegram shows as written."""
    if named is None:
        return ""
    name = config.post_name(named)
    return " (" + tr.gettext("{post} time").format(post=name if plain else html.escape(name)) + ")"


def render_card(
    config: Config,
    view: NoticeView,
    tally: Tally,
    *,
    language: str,
    reader_post: str | None,
    now: datetime,
    full_text: int | None = None,
) -> str:
    """The sender's card: what it is, "Seen 31 / 46", the breakdown by service (and by post), reminders.

    Times are in the reader's post's zone (named when needed). `full_text`: show the reader's version of the
    text (up to that many characters) instead of an excerpt.
    """
    tr = translator(language)
    zone, named = card_clock(config, view.posts, reader_post)
    many = len(view.posts) > 1
    if full_text is None:
        shown = "<i>" + quoted(tr, view.text_for(language)) + "</i>"
    else:
        text = view.text_for(language)
        shown = html.escape(excerpt(text, full_text))
    lines = [
        f"{title(tr, view)} · {posts_label(config, tr, view.posts)}",
        tr.gettext("To: {audience} · sent {time}").format(
            audience=audience_label(config, tr, view.audience), time=tr.short_datetime(view.sent_at, zone)
        )
        + clock_note(config, tr, named),
        shown,
        "",
        "<b>" + tr.gettext("👁 Seen {seen} / {total}").format(seen=tally.seen, total=tally.total) + "</b>",
    ]
    if many:
        lines.append("<u>" + html.escape(tr.gettext("By post")) + "</u>")
        for post, (total, seen) in sorted(tally.by_post().items(), key=lambda i: config.post_name(i[0])):
            lines.append(_count_line(html.escape(config.post_name(post)), total, seen))
        lines.append("<u>" + html.escape(tr.gettext("By service")) + "</u>")
    services = tally.by_service()
    for code in _service_order(config, services):
        total, seen = services[code]
        lines.append(_count_line(service_label(config, tr, code), total, seen))
    lines.append("")
    if tally.total and tally.seen >= tally.total:
        lines.append(tr.gettext("✅ Everyone has read it."))
    if view.reminded_at is not None:
        lines.append(
            tr.ngettext(
                "🔔 {n} reminder sent (last: {time}).",
                "🔔 {n} reminders sent (last: {time}).",
                view.reminders,
            ).format(n=view.reminders, time=tr.short_datetime(view.reminded_at, zone))
        )
    lines.append(validity_line(tr, view, zone, now))
    kept = fit_lines(tr, lines)
    return "\n".join(kept)


def card_markup(
    tr: Translator, view: NoticeView, tally: Tally, *, now: datetime
) -> InlineKeyboardMarkup | None:
    """ "Who has not read it?" and "Remind them" while someone has not read it (no reminder once expired)."""
    if view.id is None or tally.seen >= tally.total:
        return None
    row = [(tr.gettext("🙈 Who has not read it?"), encode(PREFIX, "who", view.id))]
    if view.expired_at is None and view.expires_at > now:
        row.append((tr.gettext("🔔 Remind them"), encode(PREFIX, "rem", view.id)))
    return inline([[button] for button in row])


# ----- who has not read it ----------------------------------------------------------------------------------


def render_unread(
    config: Config, tr: Translator, view: NoticeView, unread: list[tuple[str, str | None, str]], total: int
) -> str:
    """Names of those who have not read it, by service (and post), within one message."""
    header = "<b>" + tr.gettext("🙈 Not read yet: {n} of {total}").format(n=len(unread), total=total) + "</b>"
    header += " · " + html.escape(tr.gettext("notice #{id}").format(id=view.id))
    if not unread:
        return header + "\n" + tr.gettext("✅ Everyone has read it.")
    many = len(view.posts) > 1
    groups: dict[str, dict[str | None, list[str]]] = {}
    for post, service, name in unread:
        groups.setdefault(post, {}).setdefault(service, []).append(name)
    lines: list[str] = []
    for post in sorted(groups, key=config.post_name):
        if many:
            count = sum(len(v) for v in groups[post].values())
            lines.append(f"<b>{html.escape(config.post_name(post))}</b> · {count}")
        for service in _service_order(config, groups[post]):
            names = groups[post][service]
            label = service_label(config, tr, service)
            line = tr.gettext("{service} ({n}): {names}").format(
                service=label if many else f"<b>{label}</b>",
                n=len(names),
                names=html.escape(", ".join(names)),
            )
            lines.append("  " + line if many else line)
    return "\n".join([header, *fit_lines(tr, lines, budget=3800 - len(header))])


# ----- reminders --------------------------------------------------------------------------------------------


def render_reminder(
    config: Config, view: NoticeView, *, language: str, post_code: str, seen_at: datetime | None = None
) -> str:
    """A reminder to someone who has not confirmed: which notice, its beginning, and the Seen button."""
    tr = translator(language)
    zone = config.post_zone(post_code, view.posts[0] if view.posts else None)
    lines = [
        "<b>"
        + html.escape(
            (
                tr.gettext("🔔 Reminder: notice #{id} not confirmed yet")
                if seen_at is None
                else tr.gettext("🔔 Reminder: notice #{id}")
            ).format(id=view.id)
        )
        + "</b>",
        "<i>" + author_line(config, tr, view, zone) + "</i>",
        "",
        quoted(tr, view.text_for(language), REMINDER_EXCERPT),
        "",
        reminder_hint(tr, view, language) if seen_at is None else seen_line(tr, seen_at, zone),
    ]
    return "\n".join(lines)


def reminder_hint(tr: Translator, view: NoticeView, language: str) -> str:
    """What a reminder asks, true to what it shows: the whole notice it quotes, or where the rest is (a text
    longer than the quote, a photo or a document)."""
    whole = (
        len(" ".join(view.text_for(language).split())) <= REMINDER_EXCERPT and view.attachment_kind is None
    )
    if whole:
        return tr.gettext("Press Seen once you have read it.")
    return tr.gettext(
        "The whole notice is in the message you received, and in /notices. Press Seen once you have read it."
    )
