"""/invite: chiefs invite agents of their post; coordinators chiefs and agents anywhere; admins coordinators.

Every step re-checks, from the database's member, the right to invite that role at that post.
"""

from __future__ import annotations

import html
from datetime import timedelta

from telegram import InlineKeyboardMarkup, Update

from bot.access import INVITABLE_ROLES, can_invite
from bot.callbacks import CallbackData, encode
from bot.i18n import Translator
from bot.keyboards import columns
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext, Runtime
from bot.texts import membership, role_name
from db.members import Role
from db.onboarding import issue_invite

PREFIX = "iv"
NO_SERVICE = "-"


def _service_keyboard(runtime: Runtime, tr: Translator, role: str, post_code: str) -> InlineKeyboardMarkup:
    buttons = [
        (runtime.config.service_name(code, tr.language), encode(PREFIX, "s", role, post_code, code))
        for code in runtime.config.post_services(post_code)
    ]
    if role == Role.CHIEF:
        buttons.append(
            (tr.gettext("Whole post (no service)"), encode(PREFIX, "s", role, post_code, NO_SERVICE))
        )
    return columns(buttons, 2)


async def invite_command(update: Update, context: LiaisonContext) -> None:
    """Start the invite wizard: role, then post, then service."""
    member, tr, message = context.active_member, context.tr, update.effective_message
    assert message is not None
    roles = INVITABLE_ROLES[Role(member.role)]
    if not roles:
        await message.reply_text(tr.gettext("Your role cannot invite anyone."))
        return
    if roles == (Role.AGENT,) and member.post_code:
        await message.reply_text(
            tr.gettext("Which service will the new agent belong to?"),
            reply_markup=_service_keyboard(context.runtime, tr, Role.AGENT, member.post_code),
        )
        return
    buttons = [(role_name(tr, role), encode(PREFIX, "r", role)) for role in roles]
    await message.reply_text(tr.gettext("Whom do you want to invite?"), reply_markup=columns(buttons, 1))


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Advance the invite wizard; every step re-checks the right to invite."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    if not data.args or data.args[0] not in {r.value for r in Role}:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    role = Role(data.args[0])
    post_codes = {p.code for p in runtime.config.posts}
    if data.action == "r" and (
        can_invite(member, role, None) or any(can_invite(member, role, c) for c in post_codes)
    ):
        await answer(query)
        if role == Role.COORDINATOR:
            await _issue(update, context, role, None, None)
            return
        buttons = [
            (p.name, encode(PREFIX, "p", role, p.code))
            for p in runtime.config.posts
            if can_invite(member, role, p.code)
        ]
        await edit_message(query, tr.gettext("Which post?"), columns(buttons, 1))
        return
    if (
        data.action == "p"
        and len(data.args) == 2
        and data.args[1] in post_codes
        and can_invite(member, role, data.args[1])
    ):
        await answer(query)
        await edit_message(
            query, tr.gettext("Which service?"), _service_keyboard(runtime, tr, role, data.args[1])
        )
        return
    if data.action == "s" and len(data.args) == 3 and data.args[1] in post_codes:
        post_code, service = data.args[1], data.args[2]
        valid_service = service in runtime.config.post_services(post_code) or (
            service == NO_SERVICE and role == Role.CHIEF
        )
        if valid_service and can_invite(member, role, post_code):
            await answer(query)
            await _issue(update, context, role, post_code, None if service == NO_SERVICE else service)
            return
    await answer(query, tr.gettext("You are not allowed to do this."), alert=True)


async def _issue(
    update: Update, context: LiaisonContext, role: Role, post_code: str | None, service: str | None
) -> None:
    """Create the invite and show the link, the code and the expiry in the post's time."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    now = runtime.clock.now()
    expires = now + timedelta(hours=runtime.config.invites.ttl_hours)
    async with runtime.db.transaction() as session:
        _, code = await issue_invite(
            session,
            role=role,
            post_code=post_code,
            service_code=service,
            created_by=member.id,
            now=now,
            expires_at=expires,
        )
    # The expiry in the time of the post the invite is for (the inviter may sit elsewhere): its zone named.
    zone = runtime.config.post_zone(post_code or member.post_code)
    link = f"https://t.me/{runtime.bot_username}?start={code}"
    text = tr.gettext(
        "Invite for: {membership}.\nValid once, until {expires}.\n\n{link}\n\nCode: <code>{code}</code>"
    ).format(
        membership=membership(tr, runtime.config, role, service, post_code),
        expires=f"{tr.datetime(expires, zone, 'medium')} ({tr.zone_name(expires, zone)})",
        link=html.escape(link),
        code=code,
    )
    await edit_message(query, text)
