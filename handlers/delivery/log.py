"""Delivery failures in the review log: members who blocked the bot, alerts whose copies did not all
arrive."""

from __future__ import annotations

import html

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.features import LogKind
from bot.i18n import N_, Translator
from bot.runtime import Runtime
from db.audit import AuditEntry
from db.members import Member, get_member


def failed(entry: AuditEntry) -> bool:
    """A member who cannot be reached, or an alert with copies that failed or found nobody."""
    if entry.action == "member.unreachable":
        return True
    details = entry.details or {}
    return int(details.get("failed", 0) or 0) + int(details.get("unreachable", 0) or 0) > 0


def summary(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    """One line for a delivery failure, in the reader's language (plain text)."""
    details = entry.details or {}
    if entry.action == "member.unreachable":
        # The review log names the member when it shows the entry (details["member_name"]), never their id.
        name = details.get("member_name")
        if not name:
            return tr.gettext("A member cannot be reached: they blocked the bot")
        return tr.gettext("{name} cannot be reached: they blocked the bot").format(name=name)
    total = sum(int(details.get(k, 0) or 0) for k in ("sent", "pending", "failed", "unreachable"))
    return tr.ngettext(
        "Alert #{id}: {failed} failed, {unreachable} unreachable, of {total} copy",
        "Alert #{id}: {failed} failed, {unreachable} unreachable, of {total} copies",
        total,
    ).format(
        id=entry.object_id or "?",
        failed=details.get("failed", 0),
        unreachable=details.get("unreachable", 0),
        total=total,
    )


async def detail(
    session: AsyncSession, runtime: Runtime, entry: AuditEntry, tr: Translator, reader: Member
) -> str | None:
    """Who cannot be reached, and Telegram's answer."""
    if entry.action != "member.unreachable":
        return None
    try:
        member = await get_member(session, member_id=int(entry.object_id or ""))
    except ValueError:
        return None
    error = str((entry.details or {}).get("error", ""))
    name = member.display_name if member is not None else "?"
    return "\n".join(
        [
            "<b>" + html.escape(name) + "</b>",
            html.escape(tr.gettext("Telegram answered: {error}").format(error=error)),
        ]
    )


LOG_KIND = LogKind(
    key="delivery",
    # TRANSLATORS: a kind of entries in the review log.
    label=N_("Delivery failures"),
    action_prefixes=("member.unreachable", "alert.delivered"),
    summary=summary,
    detail=detail,
    only=failed,
)
