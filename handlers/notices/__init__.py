"""Notices: chiefs (to their post) and coordinators (to one, several or all posts) broadcast; every reader
confirms "Lu / Seen"; the sender's card counts confirmations by service (and post) and names who has not.

Commands: /notice [text] (a conversation kept in a database draft), /notices (what is in force, unread first).
Buttons (nt:): post/allp/next/aud/svc/opt/imp/exp/back/rmatt/rmalt/ok/no (the draft), seen (a copy, a
reminder, the list), read (a copy again), who/rem/cnt (following a notice).
Scheduled kinds: notice_card (nt:<id>:card:<slot>), notice_reminder (nt:<id>:auto), notice_expiry
(nt:<id>:expire), notice_delivery (nt:<id>:dlv:<n>).
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import Action
from bot.features import Command, Feature, LogKind, MemberEvent
from bot.i18n import N_
from bot.runtime import Runtime
from db.members import Member
from handlers.notices import buttons, listing, log, service, writing
from handlers.notices.render import PREFIX


async def on_joined(session: AsyncSession, runtime: Runtime, member: Member) -> None:
    """A newcomer at a post receives the notices in force there that are addressed to them."""
    await service.catch_up_newcomer(session, runtime, member)


async def on_returned(session: AsyncSession, runtime: Runtime, member: Member) -> None:
    """Someone who had blocked the bot gets the unread notices in force that could not reach them."""
    await service.catch_up_returning(session, runtime, member)


async def on_start(session: AsyncSession, runtime: Runtime) -> None:
    """Notices that expired while the bot was down end now (unpinned, last count, audited)."""
    await service.expire_overdue(session, runtime)


FEATURE = Feature(
    name="notices",
    commands=(
        Command(
            "notice",
            N_("Send a notice"),
            writing.notice_command,
            action=Action.BROADCAST,
            refusal=writing.NOT_ALLOWED,
        ),
        Command("notices", N_("Notices in force"), listing.notices_command, action=Action.USE, openable=True),
    ),
    callback_prefix=PREFIX,
    on_button=buttons.on_button,
    conversations=(writing.CONVERSATION,),
    runners={
        service.CARD_KIND: service.run_card_refresh,
        service.REMINDER_KIND: service.run_auto_reminder,
        service.EXPIRY_KIND: service.run_expiry,
        service.DELIVERY_KIND: service.run_delivery_check,
    },
    job_labels={
        service.CARD_KIND: N_("a notice's card update"),
        service.REMINDER_KIND: N_("a notice's automatic reminder"),
        service.EXPIRY_KIND: N_("a notice's expiry"),
        service.DELIVERY_KIND: N_("a notice's delivery check"),
    },
    member_hooks={MemberEvent.JOINED: on_joined, MemberEvent.RETURNED: on_returned},
    on_start=on_start,
    log_kinds=(
        LogKind(
            key="notices",
            label=N_("Notices"),
            action_prefixes=("notice.",),
            summary=log.summary,
            detail=log.detail,
        ),
    ),
    labels={"notice": N_("Notice")},
)
