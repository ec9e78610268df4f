"""The coordinators' digest, without Telegram: figures per post from the audit log, their text, and a chart.

The figures come from the entries the features write (their audit contracts): alerts by category and
severity, time to the first acknowledgement per service (median and 90th percentile), escalations, handovers
written / missing / accepted late, the share of notices seen, action items overdue. A feature that is not
installed simply contributes nothing.
"""

from __future__ import annotations

import html
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_, Translator
from bot.runtime import Runtime
from bot.texts import MESSAGE_BUDGET
from db import review as store
from handlers.review.render import window_text, zone_label

FIGURE_ACTIONS = (
    "alert.raised",
    "alert.seen",
    "alert.taking_action",
    "alert.escalated",
    "handover.written",
    "handover.accepted",
    "handover.contested",
    "handover.missing",
    "handover.escalated",
    "notice.sent",
    "meeting.published",
    "action.created",
    "action.done",
    "action.overdue",
)
SEVERITIES = ("urgent", "important", "info")
SEVERITY_ICONS = {"urgent": "🔴", "important": "🟠", "info": "🔵"}
TITLES = {
    "weekly": N_("📊 Weekly digest"),
    "daily": N_("📊 Daily digest"),
    "current": N_("📊 This week so far"),
}


@dataclass
class PostFigures:
    """One post's figures over the digest's window."""

    post_code: str
    alerts: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    # Seconds from raising to each service's first acknowledgement, per service.
    ack_seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    escalated_alerts: int = 0
    handovers_written: int = 0
    handovers_missing: int = 0
    handovers_accepted: int = 0
    handovers_late: int = 0
    handovers_contested: int = 0
    notices_sent: int = 0
    notice_recipients: int = 0
    notices_seen: int = 0
    meetings: int = 0
    actions_created: int = 0
    actions_done: int = 0
    actions_done_late: int = 0
    actions_overdue: int = 0

    @property
    def empty(self) -> bool:
        """Nothing happened worth a figure."""
        return not (
            self.alerts
            or self.ack_seconds
            or self.escalated_alerts
            or self.handovers_written
            or self.handovers_missing
            or self.handovers_accepted
            or self.notices_sent
            or self.meetings
            or self.actions_created
            or self.actions_done
            or self.actions_overdue
        )

    def ack_stats(self) -> list[tuple[str, float, float, int]]:
        """(service, median, 90th percentile, how many) of the first acknowledgements, slowest first."""
        found = []
        for service, values in self.ack_seconds.items():
            if values:
                found.append((service, statistics.median(values), percentile_90(values), len(values)))
        return sorted(found, key=lambda item: -item[1])


def percentile_90(values: Sequence[float]) -> float:
    """The 90th percentile (inclusive method: the value itself for one value)."""
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=10, method="inclusive")[8])


@dataclass
class Digest:
    """Figures of several posts over one window, read in one zone."""

    cadence: str
    since: datetime
    until: datetime
    zone: str
    posts: list[PostFigures]


def window(cadence: str, *, now: datetime, zone: str) -> tuple[datetime, datetime]:
    """The digest's window in the zone: the past week (Monday to Sunday), the day before, or this week so
    far."""
    local = now.astimezone(ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = midnight - timedelta(days=midnight.weekday())
    if cadence == "daily":
        since, until = midnight - timedelta(days=1), midnight
    elif cadence == "weekly":
        since, until = monday - timedelta(days=7), monday
    else:
        # This week so far, the entries of this very second included.
        since, until = monday, local + timedelta(seconds=1)
    return since.astimezone(ZoneInfo("UTC")), until.astimezone(ZoneInfo("UTC"))


async def compute_digest(
    session: AsyncSession,
    runtime: Runtime,
    *,
    posts: Sequence[str],
    cadence: str,
    zone: str,
    now: datetime,
) -> Digest:
    """The figures of some posts over the cadence's window (the posts the reader may read, in order)."""
    since, until = window(cadence, now=now, zone=zone)
    figures = {code: PostFigures(code) for code in posts}
    counts = await store.figure_counts(
        session, since=since, until=until, actions=FIGURE_ACTIONS, posts=list(posts)
    )
    for row in counts:
        f = figures.get(row.post_code or "")
        if f is None:
            continue
        action, n = row.action, row.count
        if action == "alert.raised":
            f.alerts += n
            f.by_category[row.category or "?"] += n
            f.by_severity[row.severity or "info"] += n
        elif action == "alert.escalated":
            f.escalated_alerts += row.objects
        elif action == "handover.written":
            f.handovers_written += n
        elif action == "handover.missing":
            f.handovers_missing += n
        elif action == "handover.accepted":
            f.handovers_accepted += n
            f.handovers_late += n if row.late else 0
        elif action == "handover.contested":
            f.handovers_contested += n
        elif action == "notice.sent":
            f.notices_sent += n
            f.notice_recipients += row.recipients
        elif action == "meeting.published":
            f.meetings += n
        elif action == "action.created":
            f.actions_created += n
        elif action == "action.done":
            f.actions_done += n
            f.actions_done_late += n if row.on_time is False else 0
        elif action == "action.overdue":
            f.actions_overdue += row.objects
    for post, service, seconds in await store.ack_seconds(
        session, since=since, until=until, posts=list(posts)
    ):
        if post in figures and service:
            figures[post].ack_seconds[service].append(seconds)
    # A notice sent to several posts has one `notice.sent` entry per post (with that post's recipients), and
    # each Seen is written at the reader's post: a post's share is its own readers' Seen over its own
    # recipients.
    sent_to: defaultdict[str, set[str]] = defaultdict(set)
    for post, object_id in await store.objects_of(
        session, since=since, until=until, action="notice.sent", posts=list(posts)
    ):
        if object_id is not None and post is not None:
            sent_to[str(object_id)].add(post)
    if sent_to:
        # A notice sent late in the window is often seen after it: count every Seen until now.
        found = await store.seen_by(
            session, object_ids=list(sent_to), actions=("notice.seen",), since=since, until=max(now, until)
        )
        # One Seen per reader (a repeated press is not a second reader).
        readers: dict[tuple[str, int], str | None] = {}
        anonymous: list[tuple[str, str | None]] = []
        for object_id, actor, post in found:
            if object_id is None:
                continue
            if actor is None:
                anonymous.append((str(object_id), post))
            else:
                readers.setdefault((str(object_id), actor), post)
        for object_id, post in [*((o, p) for (o, _a), p in readers.items()), *anonymous]:
            targets = sent_to.get(object_id, set())
            if post is None and len(targets) == 1:
                # An entry that does not name its post: the notice's only post.
                post = next(iter(targets))
            if post is not None and post in targets:
                figures[post].notices_seen += 1
    return Digest(cadence, since, until, zone, [figures[code] for code in posts])


# ----- text -------------------------------------------------------------------------------------------------


def _window_text(tr: Translator, digest: Digest) -> str:
    span = window_text(tr, digest.since, digest.until, digest.zone)
    return f"{span} ({zone_label(digest.until, digest.zone)})"


def post_block(tr: Translator, runtime: Runtime, f: PostFigures) -> list[str]:
    """One post's figures as a few short lines (HTML)."""
    config = runtime.config
    lines = [f"🏢 <b>{html.escape(config.post_name(f.post_code))}</b>"]
    if f.empty:
        lines.append(html.escape(tr.gettext("Nothing recorded.")))
        return lines
    if f.alerts:
        severities = " · ".join(
            f"{SEVERITY_ICONS[s]} {tr.number(f.by_severity[s])}" for s in SEVERITIES if f.by_severity.get(s)
        )
        lines.append(
            "🚨 "
            + html.escape(tr.ngettext("{n} alert", "{n} alerts", f.alerts).format(n=tr.number(f.alerts)))
            + (f" ({severities})" if severities else "")
        )
        categories = " · ".join(
            f"{config.category_name(code, tr.language)} {tr.number(n)}"
            for code, n in f.by_category.most_common()
        )
        lines.append("   " + html.escape(categories))
    stats = f.ack_stats()
    if stats:
        lines.append("⏱ " + html.escape(tr.gettext("First acknowledgement (median / 90%):")))
        for service, median, p90, count in stats:
            lines.append(
                "   "
                + html.escape(
                    tr.ngettext(
                        "{service}: {median} / {p90} ({n} alert)",
                        "{service}: {median} / {p90} ({n} alerts)",
                        count,
                    ).format(
                        service=config.service_name(service, tr.language),
                        median=tr.duration(median),
                        p90=tr.duration(p90),
                        n=tr.number(count),
                    )
                )
            )
    if f.escalated_alerts:
        lines.append(
            "⏰ "
            + html.escape(
                tr.ngettext("{n} alert escalated", "{n} alerts escalated", f.escalated_alerts).format(
                    n=tr.number(f.escalated_alerts)
                )
            )
        )
    if f.handovers_written or f.handovers_missing or f.handovers_accepted:
        parts = [
            tr.ngettext("{n} written", "{n} written", f.handovers_written).format(
                n=tr.number(f.handovers_written)
            ),
            tr.ngettext("{n} missing", "{n} missing", f.handovers_missing).format(
                n=tr.number(f.handovers_missing)
            ),
            tr.ngettext("{n} accepted late", "{n} accepted late", f.handovers_late).format(
                n=tr.number(f.handovers_late)
            ),
        ]
        if f.handovers_contested:
            parts.append(
                tr.ngettext("{n} contested", "{n} contested", f.handovers_contested).format(
                    n=tr.number(f.handovers_contested)
                )
            )
        lines.append(
            "🔁 " + html.escape(tr.gettext("Handovers: {figures}").format(figures=" · ".join(parts)))
        )
    if f.notices_sent:
        share = f.notices_seen / f.notice_recipients if f.notice_recipients else 0.0
        lines.append(
            "📢 "
            + html.escape(
                tr.ngettext(
                    "{n} notice sent · {share} seen", "{n} notices sent · {share} seen", f.notices_sent
                ).format(n=tr.number(f.notices_sent), share=tr.percent(min(share, 1.0)))
            )
        )
    if f.meetings or f.actions_created or f.actions_done or f.actions_overdue:
        parts = [
            tr.ngettext("{n} meeting", "{n} meetings", f.meetings).format(n=tr.number(f.meetings)),
            tr.ngettext("{n} action item overdue", "{n} action items overdue", f.actions_overdue).format(
                n=tr.number(f.actions_overdue)
            ),
            tr.ngettext("{n} done", "{n} done", f.actions_done).format(n=tr.number(f.actions_done))
            + (
                " "
                + tr.ngettext("({n} late)", "({n} late)", f.actions_done_late).format(
                    n=tr.number(f.actions_done_late)
                )
                if f.actions_done_late
                else ""
            ),
        ]
        lines.append("📝 " + html.escape(" · ".join(parts)))
    return lines


def digest_messages(tr: Translator, runtime: Runtime, digest: Digest) -> list[str]:
    """The digest as one or more messages (a post's block is never split)."""
    header = (
        f"<b>{html.escape(tr.gettext(TITLES[digest.cadence]))}</b> · {html.escape(_window_text(tr, digest))}"
    )
    messages: list[str] = []
    current = [header]
    for figures in digest.posts:
        block = ["", *post_block(tr, runtime, figures)]
        if sum(len(line) + 1 for line in current + block) > MESSAGE_BUDGET:
            messages.append("\n".join(current))
            current = [header]
        current += block
    messages.append("\n".join(current))
    return messages


def chart_caption(tr: Translator, digest: Digest) -> str:
    """The chart's caption (plain text)."""
    return tr.gettext("Time to first acknowledgement per service, {window}: bar = median, line = 90%").format(
        window=_window_text(tr, digest)
    )


def has_chart(digest: Digest) -> bool:
    """Whether there is anything to draw (at least one acknowledgement)."""
    return any(f.ack_seconds for f in digest.posts)


def bar_label(tr: Translator, median: float, p90: float) -> str:
    """A bar's figures on the chart (in minutes), whole minutes the reader's way: '1 234 / 1 500' or
    '1,234 / 1,500'; with a figure under a minute, both as durations: '12 s / 2 min' (never '0 / 0')."""
    if round(median * 60) < 60 or round(p90 * 60) < 60:
        return f"{tr.duration(median * 60)} / {tr.duration(p90 * 60)}"
    return f"{tr.number(round(median))} / {tr.number(round(p90))}"


def render_chart(tr: Translator, runtime: Runtime, digest: Digest) -> bytes:
    """A PNG: per post and service, the median time to first acknowledgement (bar) and the 90th percentile
    (line), in minutes. Drawn with matplotlib's non-interactive Agg backend, imported only here: the bot's
    resident memory does not carry matplotlib until a digest is drawn. Call it off the event loop."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    config = runtime.config
    rows: list[tuple[str, float, float, int]] = []
    for figures in digest.posts:
        for service, median, p90, _count in sorted(figures.ack_stats(), key=lambda s: s[0]):
            label = f"{config.post_name(figures.post_code)} · {config.service_name(service, tr.language)}"
            rows.append((label, median / 60, p90 / 60, digest.posts.index(figures)))
    height = 1.6 + 0.42 * max(len(rows), 1)
    figure = Figure(figsize=(8, height), dpi=100)
    axes = figure.add_subplot()
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
    positions = list(range(len(rows)))[::-1]
    for position, (_label, median, p90, post_index) in zip(positions, rows, strict=True):
        colour = palette[post_index % len(palette)]
        axes.barh(position, median, color=colour, height=0.6)
        axes.plot([median, p90], [position, position], color="#333333", linewidth=1.5)
        axes.plot([p90], [position], marker="|", markersize=14, color="#333333")
        axes.text(p90, position, "  " + bar_label(tr, median, p90), va="center", fontsize=8)
    axes.set_yticks(positions, [row[0] for row in rows], fontsize=9)
    # The axis's minutes the reader's way too ("1 500" in French, "1,500" in English).
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _position: tr.number(value)))
    axes.set_xlabel(tr.gettext("minutes"))
    axes.set_title(tr.gettext("Time to first acknowledgement (median, 90%)"), fontsize=11)
    axes.grid(axis="x", alpha=0.3)
    axes.set_xlim(left=0, right=max([row[2] for row in rows] + [1]) * 1.25)
    figure.text(0.01, 0.01, _window_text(tr, digest), fontsize=8, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
