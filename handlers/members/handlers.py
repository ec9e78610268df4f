"""/members: chiefs list and manage their post's members (suspend, reinstate, remove); coordinators any."""

from __future__ import annotations

import html

from telegram import InlineKeyboardMarkup, Update

from bot.access import Action, can, can_manage, is_global
from bot.callbacks import CallbackData, encode
from bot.i18n import Translator
from bot.keyboards import columns, inline
from bot.menu import publish_member_commands
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext, Runtime
from bot.texts import fit_lines, role_name
from db.members import Member, MemberStatus, list_members
from handlers.members import service

PREFIX = "mb"
MAX_BUTTONS = 40  # beyond this a keyboard is unusable on a small phone
CHANGES = {"sus": MemberStatus.SUSPENDED, "rei": MemberStatus.ACTIVE, "rmok": MemberStatus.REMOVED}


def member_line(runtime: Runtime, tr: Translator, member: Member) -> str:
    """One member: name, role, service, and status flags."""
    flags = []
    if member.status == MemberStatus.SUSPENDED:
        flags.append(tr.gettext("suspended"))
    if not member.reachable:
        flags.append(tr.gettext("unreachable (blocked the bot)"))
    suffix = f" — <i>{', '.join(flags)}</i>" if flags else ""
    name = html.escape(member.display_name)
    service_label = html.escape(runtime.config.service_name(member.service_code, tr.language))
    return f"• {name} ({role_name(tr, member.role)}, {service_label}){suffix}"


async def members_command(update: Update, context: LiaisonContext) -> None:
    """List the post's members (chiefs) or ask which post (coordinators)."""
    member, tr, message = context.active_member, context.tr, update.effective_message
    assert message is not None
    if is_global(member):
        buttons = [(p.name, encode(PREFIX, "post", p.code)) for p in context.runtime.config.posts]
        await message.reply_text(tr.gettext("Which post?"), reply_markup=columns(buttons, 1))
        return
    text, keyboard = await _roster(context, member.post_code or "")
    await message.reply_text(text, reply_markup=keyboard)


async def _roster(context: LiaisonContext, post_code: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """The member list of a post, with one button per member the reader may manage."""
    runtime, tr = context.runtime, context.tr
    async with runtime.db.reading() as session:
        members = await list_members(session, post_code=post_code, include_inactive=True)
    header = tr.ngettext("{post}: {n} member", "{post}: {n} members", len(members)).format(
        post=html.escape(runtime.config.post_name(post_code)), n=len(members)
    )
    lines = [f"<b>{header}</b>", *fit_lines(tr, [member_line(runtime, tr, m) for m in members])]
    manageable = [m for m in members if can_manage(context.member, m)][:MAX_BUTTONS]
    buttons = [(f"⚙ {m.display_name[:30]}", encode(PREFIX, "open", m.id)) for m in manageable]
    return "\n".join(lines), columns(buttons, 2) if buttons else None


def _manage_keyboard(tr: Translator, target: Member) -> InlineKeyboardMarkup:
    toggle = (
        (tr.gettext("Reinstate"), encode(PREFIX, "rei", target.id))
        if target.status == MemberStatus.SUSPENDED
        else (tr.gettext("Suspend"), encode(PREFIX, "sus", target.id))
    )
    return inline([[toggle, (tr.gettext("Remove"), encode(PREFIX, "rm", target.id))]])


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Handle the members buttons; every press is re-checked against the database."""
    query, actor, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    denied = tr.gettext("You are not allowed to do this.")
    if not data.args:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    if data.action == "post":
        post_code = data.args[0]
        if runtime.config.find_post(post_code) is None or not can(actor, Action.LIST_MEMBERS, post_code):
            await answer(query, denied, alert=True)
            return
        await answer(query)
        text, keyboard = await _roster(context, post_code)
        await edit_message(query, text, keyboard)
        return
    if data.action not in ("open", "rm", *CHANGES):
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    async with runtime.db.transaction() as session:
        target = await service.manageable_member(session, actor, data.int_arg(0))
        if target is not None and data.action in CHANGES:
            await service.change_status(session, runtime, actor, target, CHANGES[data.action])
    if target is None:
        await answer(query, denied, alert=True)
        return
    if data.action in CHANGES:
        # A suspended or removed person's menu empties; a reinstated one gets theirs back.
        await publish_member_commands(context.bot, runtime.features, target)
    if data.action == "rm":
        await answer(query)
        await edit_message(
            query,
            tr.gettext("Remove {name} from Liaison? They will no longer be able to use anything.").format(
                name=html.escape(target.display_name)
            ),
            inline(
                [
                    [
                        (tr.gettext("Yes, remove"), encode(PREFIX, "rmok", target.id)),
                        (tr.gettext("No"), encode(PREFIX, "open", target.id)),
                    ]
                ]
            ),
        )
        return
    if data.action in CHANGES:
        done = {
            "sus": tr.gettext("{name} is suspended."),
            "rei": tr.gettext("{name} is active again."),
            "rmok": tr.gettext("{name} was removed."),
        }[data.action]
        await answer(query, done.format(name=target.display_name))
        if data.action == "rmok":
            await edit_message(query, done.format(name=html.escape(target.display_name)))
            return
    else:
        await answer(query)
    await edit_message(query, member_line(runtime, tr, target), _manage_keyboard(tr, target))
