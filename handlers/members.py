"""Members: chiefs list and manage their post's members (suspend, reinstate, remove); coordinators see all.

Commands: /members.
Callback prefixes: mb (mb:post:<code>, mb:open:<id>, mb:sus:<id>, mb:rei:<id>, mb:rm:<id>, mb:rmok:<id>).
"""

from __future__ import annotations

import html

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import callbacks
from bot.access import Action, can, can_manage, is_global
from bot.commands import publish_member_commands
from bot.i18n import Translator
from bot.keyboards import columns, inline
from bot.runtime import LiaisonContext, Runtime
from bot.texts import fit_lines, member_translator, post_name, role_name, service_name
from db.audit import record_action
from db.members import Member, MemberStatus, get_member, list_members, set_member_status

MAX_BUTTONS = 40  # beyond this a keyboard is unusable on a small phone


def member_line(runtime: Runtime, tr: Translator, member: Member) -> str:
    """One member: name, role, service, and status flags."""
    flags = []
    if member.status == MemberStatus.SUSPENDED:
        flags.append(tr.gettext("suspended"))
    if not member.reachable:
        flags.append(tr.gettext("unreachable (blocked the bot)"))
    suffix = f" — <i>{', '.join(flags)}</i>" if flags else ""
    name = html.escape(member.display_name)
    service = html.escape(service_name(runtime.config, tr, member.service_code))
    return f"• {name} ({role_name(tr, member.role)}, {service}){suffix}"


async def members_command(update: Update, context: LiaisonContext) -> None:
    """List the post's members (chiefs) or ask which post (coordinators)."""
    member = context.member
    tr = member_translator(member)
    if not can(member, Action.LIST_MEMBERS):
        await update.effective_message.reply_text(tr.gettext("You are not allowed to do this."))
        return
    if is_global(member):
        buttons = [(p.name, callbacks.encode("mb", "post", p.code)) for p in context.runtime.config.posts]
        await update.effective_message.reply_text(tr.gettext("Which post?"), reply_markup=columns(buttons, 1))
        return
    text, keyboard = await _roster(context, tr, member.post_code)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def _roster(context: LiaisonContext, tr: Translator, post_code: str) -> tuple[str, object | None]:
    """The member list of a post, with one button per member the reader may manage."""
    runtime = context.runtime
    async with runtime.db.reading() as session:
        members = await list_members(session, post_code=post_code, include_inactive=True)
    header = tr.ngettext("{post}: {n} member", "{post}: {n} members", len(members)).format(
        post=html.escape(post_name(runtime.config, post_code)), n=len(members)
    )
    lines = [f"<b>{header}</b>", *fit_lines(tr, [member_line(runtime, tr, m) for m in members])]
    manageable = [m for m in members if can_manage(context.member, m)][:MAX_BUTTONS]
    buttons = [(f"⚙ {m.display_name[:30]}", callbacks.encode("mb", "open", m.id)) for m in manageable]
    return "\n".join(lines), columns(buttons, 2) if buttons else None


async def member_button(update: Update, context: LiaisonContext) -> None:
    """Handle the members buttons; every press is re-checked against the database."""
    query = update.callback_query
    actor = context.member
    runtime = context.runtime
    tr = member_translator(actor)
    data = callbacks.parse(query.data)
    denied = tr.gettext("You are not allowed to do this.")
    if data is None or not data.args:
        await query.answer(tr.gettext("This button is no longer valid."), show_alert=True)
        return
    if data.action == "post":
        post_code = data.args[0]
        if post_code not in {p.code for p in runtime.config.posts} or not can(
            actor, Action.LIST_MEMBERS, post_code
        ):
            await query.answer(denied, show_alert=True)
            return
        await query.answer()
        text, keyboard = await _roster(context, tr, post_code)
        await query.edit_message_text(text, reply_markup=keyboard)
        return
    target_id = data.int_arg(0)
    async with runtime.db.transaction() as session:
        target = await get_member(session, member_id=target_id) if target_id is not None else None
        if target is None or target.status == MemberStatus.REMOVED or not can_manage(actor, target):
            await query.answer(denied, show_alert=True)
            return
        changes = {"sus": MemberStatus.SUSPENDED, "rei": MemberStatus.ACTIVE, "rmok": MemberStatus.REMOVED}
        if data.action in changes:
            status = changes[data.action]
            changed = await set_member_status(session, member_id=target.id, status=status)
            if changed:
                await record_action(
                    session,
                    action=f"member.{status.value}",
                    at=runtime.clock.now(),
                    actor_member_id=actor.id,
                    object_type="member",
                    object_id=target.id,
                    post_code=target.post_code,
                )
            target.status = status
    if data.action in ("sus", "rei", "rmok"):
        # A suspended or removed person's menu empties; a reinstated one gets theirs back.
        await publish_member_commands(context.bot, target)
    if data.action == "open":
        await query.answer()
    elif data.action == "rm":
        await query.answer()
        await query.edit_message_text(
            tr.gettext("Remove {name} from Liaison? They will no longer be able to use anything.").format(
                name=html.escape(target.display_name)
            ),
            reply_markup=inline(
                [
                    [
                        (tr.gettext("Yes, remove"), callbacks.encode("mb", "rmok", target.id)),
                        (tr.gettext("No"), callbacks.encode("mb", "open", target.id)),
                    ]
                ]
            ),
        )
        return
    elif data.action in ("sus", "rei", "rmok"):
        done = {
            "sus": tr.gettext("{name} is suspended."),
            "rei": tr.gettext("{name} is active again."),
            "rmok": tr.gettext("{name} was removed."),
        }[data.action]
        await query.answer(done.format(name=target.display_name)[:200])
        if data.action == "rmok":
            await query.edit_message_text(done.format(name=html.escape(target.display_name)))
            return
    else:
        await query.answer(tr.gettext("This button is no longer valid."), show_alert=True)
        return
    await query.edit_message_text(member_line(runtime, tr, target), reply_markup=_manage_keyboard(tr, target))


def _manage_keyboard(tr: Translator, target: Member) -> object:
    toggle = (
        (tr.gettext("Reinstate"), callbacks.encode("mb", "rei", target.id))
        if target.status == MemberStatus.SUSPENDED
        else (tr.gettext("Suspend"), callbacks.encode("mb", "sus", target.id))
    )
    return inline([[toggle, (tr.gettext("Remove"), callbacks.encode("mb", "rm", target.id))]])


def register(application: Application) -> None:
    """Register the members command and buttons."""
    application.add_handler(CommandHandler("members", members_command))
    application.add_handler(CallbackQueryHandler(member_button, pattern=callbacks.pattern("mb")))
