"""What /delivery shows: a post's last notifications and who cannot be reached, within one message."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from bot.config import Config
from bot.features import FeatureSet
from bot.i18n import Translator
from bot.texts import MESSAGE_BUDGET, fit_lines, in_language, preview
from db.members import Member
from db.outbox.reporting import DeliveryTally
from handlers.delivery.service import SCHEDULE_REF, PostDelivery

MAX_NAMES = 30  # unreachable names listed per post before "and N more"
QUOTE_LIMIT = 40  # characters of a reminder's words quoted in its line


def quote_text(tr: Translator, words: Any) -> str:
    """A reminder's words in the reader's language (a config reminder carries both), cut and escaped."""
    return html.escape(preview(in_language(words, tr.language), QUOTE_LIMIT))


def ref_label(features: FeatureSet, tr: Translator, tally: DeliveryTally, quote: Any = None) -> str:
    """'Alert #17', or 'Reminder “Briefing”' for what is named by its words, in the reader's language (each
    feature names its own notifications)."""
    kind = features.label(tally.ref_type)
    name = tr.gettext(kind) if kind else html.escape(tally.ref_type)
    if quote:
        # TRANSLATORS: a notification named by its words, e.g. Reminder “Weekly briefing”.
        return tr.gettext("{kind} “{quote}”").format(kind=name, quote=quote_text(tr, quote))
    if tally.ref_type == SCHEDULE_REF:
        return name  # a reminder deleted since: its row number would mean nothing either
    return tr.gettext("{kind} #{number}").format(kind=name, number=tally.ref_id)


def tally_line(
    features: FeatureSet, tr: Translator, tally: DeliveryTally, zone: str, quote: Any = None
) -> str:
    """One notification: what it was, when, and how it reached people."""
    # Messages, not people: the author's own copy of an alert or a notice is one of them, where the card and
    # the author's confirmation count the people other than the author.
    parts = [
        tr.ngettext(
            "{total} message, {sent} received", "{total} messages, {sent} received", tally.total
        ).format(sent=tally.sent, total=tally.total)
    ]
    if tally.pending:
        parts.append(tr.ngettext("{n} on the way", "{n} on the way", tally.pending).format(n=tally.pending))
    if tally.failed:
        parts.append(tr.ngettext("{n} failed", "{n} failed", tally.failed).format(n=tally.failed))
    if tally.unreachable:
        parts.append(
            tr.ngettext("{n} unreachable", "{n} unreachable", tally.unreachable).format(n=tally.unreachable)
        )
    when = tr.short_datetime(tally.first_at, zone)
    # TRANSLATORS: one notification in /delivery: what it was, when it went, how it reached people.
    return tr.gettext("• {what} ({when}): {how}").format(
        what=f"<b>{ref_label(features, tr, tally, quote)}</b>", when=when, how=", ".join(parts)
    )


def unreachable_lines(
    config: Config,
    tr: Translator,
    members: list[Member],
    zone: str,
    budget: int = MESSAGE_BUDGET,
    *,
    named: bool = False,
) -> list[str]:
    """Unreachable members: name, service, and since when (as many as fit in `budget` characters)."""
    lines = []
    for member in members[:MAX_NAMES]:
        since = (
            tr.short_datetime_in(member.unreachable_since, zone, named=named)
            if member.unreachable_since
            else "—"
        )
        lines.append(
            tr.gettext("• {name} ({service}), since {since}").format(
                name=html.escape(member.display_name),
                service=html.escape(config.service_name(member.service_code, tr.language)),
                since=since,
            )
        )
    return fit_lines(tr, lines, budget, total=len(members))


def post_report(
    config: Config,
    features: FeatureSet,
    tr: Translator,
    delivery: PostDelivery,
    *,
    with_tallies: bool,
    budget: int = MESSAGE_BUDGET,
) -> str:
    """A post's delivery report: its last notifications and its unreachable members, within `budget`."""
    post_code = delivery.post_code
    zone = config.post(post_code).timezone
    lines = [f"<b>{html.escape(config.post_name(post_code))}</b>"]
    if with_tallies:
        if delivery.tallies:
            lines.append(tr.gettext("Last notifications:"))
            lines.extend(
                tally_line(
                    features,
                    tr,
                    tally,
                    zone,
                    delivery.quotes.get(tally.ref_id) if tally.ref_type == SCHEDULE_REF else None,
                )
                for tally in delivery.tallies
            )
        else:
            lines.append(tr.gettext("No notifications yet."))
    unreachable = delivery.unreachable
    if unreachable:
        lines.append(
            tr.ngettext(
                "{n} member cannot be reached (blocked the bot):",
                "{n} members cannot be reached (blocked the bot):",
                len(unreachable),
            ).format(n=len(unreachable))
        )
        used = sum(len(line) + 1 for line in lines)
        # A coordinator's overview puts posts of several zones side by side: each time names its zone.
        lines.extend(unreachable_lines(config, tr, unreachable, zone, budget - used, named=not with_tallies))
    elif delivery.members:
        lines.append(tr.gettext("Every member can be reached."))
    else:
        # "Everyone can be reached" would be true of nobody and read as if the post were staffed.
        lines.append(tr.gettext("No members."))
    return "\n".join(lines)


def overview(config: Config, features: FeatureSet, tr: Translator, posts: Sequence[PostDelivery]) -> str:
    """A coordinator's overview: every post's unreachable members, in one message."""
    header = tr.gettext("<b>Delivery</b>: unreachable members by post")
    # Every post's report shares one message: each gets an equal part of what Telegram accepts.
    share = (MESSAGE_BUDGET - len(header)) // max(1, len(posts)) - 2
    reports = [post_report(config, features, tr, post, with_tallies=False, budget=share) for post in posts]
    return "\n\n".join([header, *reports])
