"""/delivery: who received the last notifications, and who cannot be reached.

Chiefs see their post; coordinators every post's unreachable members.
"""

from __future__ import annotations

import html

from telegram import Update

from bot.access import is_global
from bot.config import Config
from bot.features import FeatureSet
from bot.i18n import Translator
from bot.runtime import LiaisonContext
from bot.texts import MESSAGE_BUDGET, fit_lines
from db.members import Member, list_members
from db.outbox.reporting import DeliveryTally, delivery_tallies

RECENT = 5  # notifications shown: enough to spot a problem, short enough for a phone screen
MAX_NAMES = 30  # unreachable names listed per post before "and N more"


def ref_label(features: FeatureSet, tr: Translator, tally: DeliveryTally) -> str:
    """'Alert #17' in the reader's language (each feature names its own notifications)."""
    kind = features.label(tally.ref_type)
    name = tr.gettext(kind) if kind else html.escape(tally.ref_type)
    return tr.gettext("{kind} #{number}").format(kind=name, number=tally.ref_id)


def tally_line(features: FeatureSet, tr: Translator, tally: DeliveryTally, zone: str) -> str:
    """One notification: what it was, when, and how it reached people."""
    parts = [
        tr.ngettext("{sent} of {total} received", "{sent} of {total} received", tally.total).format(
            sent=tally.sent, total=tally.total
        )
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
    return f"• <b>{ref_label(features, tr, tally)}</b> ({when}): {', '.join(parts)}"


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


async def post_report(
    context: LiaisonContext,
    tr: Translator,
    post_code: str,
    *,
    with_tallies: bool,
    budget: int = MESSAGE_BUDGET,
) -> str:
    """A post's delivery report: its last notifications and its unreachable members, within `budget`."""
    runtime = context.runtime
    config = runtime.config
    zone = config.post(post_code).timezone
    async with runtime.db.reading() as session:
        members = await list_members(session, post_code=post_code, include_inactive=True)
        tallies = (
            await delivery_tallies(
                session, member_ids=[m.id for m in members if m.id is not None], limit=RECENT
            )
            if with_tallies and members
            else []
        )
    lines = [f"<b>{html.escape(config.post_name(post_code))}</b>"]
    if with_tallies:
        if tallies:
            lines.append(tr.gettext("Last notifications:"))
            lines.extend(tally_line(runtime.features, tr, tally, zone) for tally in tallies)
        else:
            lines.append(tr.gettext("No notifications yet."))
    unreachable = [m for m in members if not m.reachable]
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
    else:
        lines.append(tr.gettext("Every member can be reached."))
    return "\n".join(lines)


async def delivery_command(update: Update, context: LiaisonContext) -> None:
    """Show delivery figures: the chief's own post, or every post for coordinators."""
    member, tr, message = context.active_member, context.tr, update.effective_message
    assert message is not None
    if is_global(member):
        header = tr.gettext("<b>Delivery</b>: unreachable members by post")
        posts = context.runtime.config.posts
        # Every post's report shares one message: each gets an equal part of what Telegram accepts.
        share = (MESSAGE_BUDGET - len(header)) // max(1, len(posts)) - 2
        reports = [
            await post_report(context, tr, post.code, with_tallies=False, budget=share) for post in posts
        ]
        await message.reply_text("\n\n".join([header, *reports]))
        return
    if member.post_code is None:
        await message.reply_text(tr.gettext("You are not allowed to do this."))
        return
    await message.reply_text(await post_report(context, tr, member.post_code, with_tallies=True))
