"""Rendering of the review log: a page of one-line entries, the filter choosers, an entry in full.

Times are in each entry's post zone; when a page mixes posts in two zones, every time names its zone.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from telegram import InlineKeyboardMarkup

from bot.callbacks import encode
from bot.dates import format_local_date, format_local_interval
from bot.i18n import N_, Translator
from bot.keyboards import columns, inline
from bot.runtime import Runtime
from bot.texts import MESSAGE_BUDGET, fit_lines, preview
from db.audit import AuditEntry
from db.review import ReviewView
from handlers.review import service
from handlers.review.service import Page

PREFIX = "rv"
SYSTEM = N_("Liaison")
PERIOD_NAMES = {"today": N_("Today"), "7": N_("7 days"), "30": N_("30 days")}
SUMMARY_LIMIT = 110


def zone_label(moment: datetime, zone: str) -> str:
    """'UTC+1' (short, the same in every language)."""
    offset = moment.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def day_label(tr: Translator, moment: datetime, zone: str) -> str:
    """'lun. 23 nov.' / 'Mon, Nov 23' in the reader's language."""
    pattern = str(Locale.parse(tr.language).datetime_skeletons["MMMEd"].pattern)
    return format_local_date(moment.astimezone(ZoneInfo(zone)), pattern, tr.language)


def entry_zone(runtime: Runtime, entry: AuditEntry) -> str:
    """The zone an entry's times are shown in: its post's (the coordinators' zone for no post)."""
    return service.view_zone(runtime, entry.post_code)


def window_text(tr: Translator, since: datetime, until: datetime, zone: str) -> str:
    """'22–28 nov. 2026' / 'Nov 22 – 28, 2026': the days of [since, until) in a zone, as Babel joins them."""
    first = since.astimezone(ZoneInfo(zone)).date()
    last = (until - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).date()
    return format_local_interval(first, last, "yMMMd", tr.language)


def period_text(tr: Translator, runtime: Runtime, view: ReviewView) -> str:
    """'7 days (22–28 Nov 2026)' or '16–22 Nov 2026': the view's window in its zone."""
    window = window_text(tr, view.since, view.until, service.view_zone(runtime, view.post_code))
    if view.period in PERIOD_NAMES:
        return f"{tr.gettext(PERIOD_NAMES[view.period])} ({window})"
    return window


def filter_line(tr: Translator, runtime: Runtime, view: ReviewView) -> str:
    """'Birni N'Konni · 7 days (...) · Alerts · Customs' (HTML-safe)."""
    config = runtime.config
    post = config.post_name(view.post_code) if view.post_code else tr.gettext("All posts")
    kind = service.kind_named(runtime, view.kind)
    parts = [post, period_text(tr, runtime, view)]
    parts.append(tr.gettext(kind.label) if kind else tr.gettext("All kinds"))
    parts.append(
        config.service_name(view.service_code, tr.language)
        if view.service_code
        else tr.gettext("All services")
    )
    return html.escape(" · ".join(parts))


def entry_line(
    tr: Translator,
    runtime: Runtime,
    view: ReviewView,
    entry: AuditEntry,
    *,
    number: int,
    names: dict[int, str],
    zones: bool,
    posts: bool,
) -> str:
    """'3. 09:42 · Alerts · Police · John — Seen alert #12' (HTML)."""
    zone = entry_zone(runtime, entry)
    when = tr.time(entry.at, zone) + (f" {zone_label(entry.at, zone)}" if zones else "")
    parts = []
    if posts:
        # An entry of no post (a coordinator joining, a notice to several posts) concerns them all.
        parts.append(
            runtime.config.post_name(entry.post_code) if entry.post_code else tr.gettext("All posts")
        )
    kind = service.kind_named(runtime, view.kind) or service.kind_of(runtime, entry)
    if view.kind is None:
        parts.append(tr.gettext(kind.label) if kind else entry.action.split(".")[0])
    if view.service_code is None and entry.service_code and not (kind and kind.service_of_subject):
        parts.append(runtime.config.service_name(entry.service_code, tr.language))
    who = names.get(entry.actor_member_id or 0) if entry.actor_member_id else None
    parts.append(who or tr.gettext(SYSTEM))
    head = " · ".join(html.escape(p) for p in parts)
    summary = html.escape(preview(service.summary_of(runtime, entry, tr, kind), SUMMARY_LIMIT))
    return f"<b>{number}.</b> <code>{when}</code> · {head} — {summary}"


def page_text(tr: Translator, runtime: Runtime, view: ReviewView, page: Page) -> str:
    """A page of the log: the filter, where it stands, and the entries grouped by day."""
    size = runtime.config.review.page_size
    header = ["<b>" + html.escape(tr.gettext("📒 Log")) + "</b> · " + filter_line(tr, runtime, view)]
    if not page.entries:
        header.append(html.escape(tr.gettext("Nothing recorded in this period.")))
        return "\n".join(header)
    first = (page.number - 1) * size + 1
    last = first + len(page.entries) - 1
    if page.total is None:
        where = tr.gettext("Entries {first}–{last}").format(first=first, last=last)
    elif page.total > service.COUNT_CAP:
        where = tr.gettext("Entries {first}–{last} of more than {total}").format(
            first=first, last=last, total=tr.number(service.COUNT_CAP)
        )
    else:
        where = tr.ngettext(
            "Entries {first}–{last} of {total}", "Entries {first}–{last} of {total}", page.total
        ).format(first=first, last=last, total=tr.number(page.total))
    header.append(html.escape(where))
    entry_zones = {zone_label(e.at, entry_zone(runtime, e)) for e in page.entries}
    several_zones = len(entry_zones) > 1
    # Reading every post, each line names its post, even on a page where they all happen to be one post.
    several_posts = view.post_code is None
    lines: list[str] = []
    day = None
    for index, entry in enumerate(page.entries):
        zone = entry_zone(runtime, entry)
        label = day_label(tr, entry.at, zone)
        if label != day:
            lines.append(f"\n<b>{html.escape(label)}</b>")
            day = label
        lines.append(
            entry_line(
                tr,
                runtime,
                view,
                entry,
                number=first + index,
                names=page.names,
                zones=several_zones,
                posts=several_posts,
            )
        )
    budget = MESSAGE_BUDGET - sum(len(h) + 1 for h in header)
    return "\n".join([*header, *fit_lines(tr, lines, budget=budget)])


def page_markup(tr: Translator, view: ReviewView, page: Page, *, runtime: Runtime) -> InlineKeyboardMarkup:
    """Open buttons (one per entry), previous/next, the filters and the exports."""
    assert view.id is not None
    size = runtime.config.review.page_size
    rows: list[list[tuple[str, str]]] = []
    # The count travels with the buttons: a deeper page does not count the view again.
    total = page.total if page.total is not None else -1
    if page.entries:
        first_id = page.entries[0].id
        start = (page.number - 1) * size + 1
        opens = [
            (str(start + i), encode(PREFIX, "op", view.id, entry.id, first_id, page.number, total))
            for i, entry in enumerate(page.entries)
        ]
        rows += [opens[i : i + 5] for i in range(0, len(opens), 5)]
        navigation = []
        if page.has_newer:
            navigation.append(
                (tr.gettext("◀ Previous"), encode(PREFIX, "pv", view.id, first_id, page.number - 1, total))
            )
        if page.has_older:
            navigation.append(
                (
                    tr.gettext("Next ▶"),
                    encode(PREFIX, "nx", view.id, page.entries[-1].id, page.number + 1, total),
                )
            )
        if navigation:
            rows.append(navigation)
    rows.append(
        [
            (tr.gettext("🏢 Post"), encode(PREFIX, "f", view.id, "post")),
            (tr.gettext("📅 Period"), encode(PREFIX, "f", view.id, "period")),
        ]
    )
    rows.append(
        [
            (tr.gettext("🗂 Kind"), encode(PREFIX, "f", view.id, "kind")),
            (tr.gettext("👥 Service"), encode(PREFIX, "f", view.id, "service")),
        ]
    )
    if page.entries:
        rows.append(
            [
                (tr.gettext("⬇ CSV"), encode(PREFIX, "x", view.id, "csv")),
                (tr.gettext("⬇ Excel"), encode(PREFIX, "x", view.id, "xlsx")),
            ]
        )
    return inline(rows)


def chooser(
    tr: Translator, runtime: Runtime, view: ReviewView, which: str, posts: list[str], *, every_post: bool
) -> tuple[str, InlineKeyboardMarkup]:
    """The buttons of one filter: which post, which period, which kind, which service."""
    assert view.id is not None
    config = runtime.config
    back = (tr.gettext("◀ Back"), encode(PREFIX, "at", view.id, 0, 1))
    buttons: list[tuple[str, str]]
    if which == "post":
        question = tr.gettext("Which post?")
        buttons = [(config.post_name(code), encode(PREFIX, "p", view.id, code)) for code in posts]
        if every_post:
            buttons.append((tr.gettext("All posts"), encode(PREFIX, "p", view.id, "all")))
    elif which == "period":
        question = tr.gettext("Which period?")
        buttons = [
            (tr.gettext(name), encode(PREFIX, "w", view.id, key)) for key, name in PERIOD_NAMES.items()
        ]
        buttons.append((tr.gettext("✏️ Other dates"), encode(PREFIX, "w", view.id, "dates")))
    elif which == "kind":
        question = tr.gettext("Which kind of entries?")
        buttons = [(tr.gettext("All kinds"), encode(PREFIX, "k", view.id, "all"))]
        buttons += [
            (tr.gettext(k.label), encode(PREFIX, "k", view.id, k.key)) for k in service.kinds(runtime)
        ]
    else:
        question = tr.gettext("Which service?")
        buttons = [(tr.gettext("All services"), encode(PREFIX, "s", view.id, "all"))]
        buttons += [
            (config.service_name(code, tr.language), encode(PREFIX, "s", view.id, code))
            for code in service.services_of(runtime, view.post_code)
        ]
    markup = columns([*buttons, back], 2)
    return f"<b>{html.escape(question)}</b>\n{filter_line(tr, runtime, view)}", markup


def entry_text(
    tr: Translator, runtime: Runtime, entry: AuditEntry, *, who: str | None, detail: str | None
) -> str:
    """An entry in full: when (with its zone), where, what, who, then its object as its feature shows it."""
    zone = entry_zone(runtime, entry)
    kind = service.kind_of(runtime, entry)
    facts = [
        tr.gettext("When: {time}").format(
            time=f"{tr.datetime(entry.at, zone)} ({zone_label(entry.at, zone)})"
        ),
        tr.gettext("Post: {post}").format(
            post=runtime.config.post_name(entry.post_code) if entry.post_code else tr.gettext("All posts")
        ),
        tr.gettext("Kind: {kind}").format(kind=tr.gettext(kind.label) if kind else "—"),
    ]
    if entry.service_code:
        facts.append(
            tr.gettext("Service: {service}").format(
                service=runtime.config.service_name(entry.service_code, tr.language)
            )
        )
    facts.append(tr.gettext("By: {name}").format(name=who or tr.gettext(SYSTEM)))
    # Titled by what it is and when, as its line read in the list: the row id means nothing to a reader.
    kind_name = tr.gettext(kind.label) if kind else entry.action.split(".")[0]
    # TRANSLATORS: an opened log entry's title: its kind and its time, e.g. "Alerts, 09:42".
    title = tr.gettext("{kind}, {time}").format(kind=kind_name, time=tr.time(entry.at, zone))
    lines = [
        f"<b>{html.escape(title)}</b> — {html.escape(service.summary_of(runtime, entry, tr, kind))}",
        *(html.escape(f) for f in facts),
    ]
    if detail:
        lines += ["", *detail.split("\n")]
    elif entry.details:
        lines += [""] + [
            f"<i>{html.escape(str(key))}</i>: {html.escape(preview(str(value), 200))}"
            for key, value in sorted(entry.details.items())
        ]
    return "\n".join(fit_lines(tr, lines))


def entry_markup(tr: Translator, view_id: int, first_id: int, page: int, total: int) -> InlineKeyboardMarkup:
    """Back to the page the entry was opened from."""
    return inline(
        [[(tr.gettext("◀ Back to the list"), encode(PREFIX, "at", view_id, first_id, page, total))]]
    )
