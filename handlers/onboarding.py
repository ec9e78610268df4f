"""Onboarding: joining through an invite, the welcome, help, language, and creating invites.

Commands: /start [code], /help, /language, /invite.
Callback prefixes: lg (language), iv (invite wizard).
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

from telegram import ReplyKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import callbacks
from bot.access import INVITABLE_ROLES, can_invite
from bot.commands import commands_for, publish_member_commands
from bot.i18n import N_, Translator, supported_language, translator
from bot.keyboards import columns, inline
from bot.runtime import LiaisonContext, Runtime
from bot.texts import bilingual, member_translator, post_name, role_name, service_name
from db.invites import CODE_PATTERN
from db.members import Member, Role, set_member_language
from db.onboarding import JoinRefusal, issue_invite, join_with_invite
from db.outbox import Priority, enqueue_message
from handlers.alert_cards import alert_keyboard

CODE_RE = re.compile(CODE_PATTERN)
NO_SERVICE = "-"

REFUSALS = {
    JoinRefusal.UNKNOWN: N_(
        "This invite code is not valid. Check the link, or ask your post chief for a new one."
    ),
    JoinRefusal.EXPIRED: N_("This invite has expired. Ask your post chief for a new one."),
    JoinRefusal.USED: N_(
        "This invite has already been used: each invite works once. Ask your post chief for a new one."
    ),
    JoinRefusal.REVOKED: N_("This invite was withdrawn. Ask your post chief for a new one."),
}
LANGUAGE_QUESTION = N_("Which language do you prefer?")


def identity_text(runtime: Runtime, tr: Translator, member: Member) -> str:
    """'You are <role>, <service>, at <post>.' in the reader's language."""
    _ = tr.gettext
    if member.role in (Role.COORDINATOR, Role.ADMIN):
        return _("You are {role}: you follow every post.").format(role=role_name(tr, member.role))
    return _("You are {role}, {service}, at the post of {post}.").format(
        role=role_name(tr, member.role),
        service=html.escape(service_name(runtime.config, tr, member.service_code)),
        post=html.escape(post_name(runtime.config, member.post_code)),
    )


def help_text(tr: Translator, member: Member) -> str:
    """The commands this member's role may use, in their language."""
    lines = [f"<b>{tr.gettext('What you can do')}</b>"]
    lines += [f"/{name} — {tr.gettext(text)}" for name, text in commands_for(member.role)]
    return "\n".join(lines)


def welcome_text(runtime: Runtime, tr: Translator, member: Member) -> str:
    """The welcome: who they are and what they can do."""
    greeting = tr.gettext("Welcome to Liaison, {name}.").format(name=html.escape(member.display_name))
    return f"<b>{greeting}</b>\n{identity_text(runtime, tr, member)}\n\n{help_text(tr, member)}"


def main_keyboard(tr: Translator, member: Member) -> ReplyKeyboardMarkup | None:
    """The persistent keyboard of a post's member: one big alert button (coordinators have no post)."""
    return alert_keyboard(tr) if member.post_code else None


def language_keyboard(first_time: bool) -> object:
    """Two buttons, one per language, each labelled in its own language."""
    action = "first" if first_time else "set"
    return inline(
        [
            [
                ("🇫🇷 Français", callbacks.encode("lg", action, "fr")),
                ("🇬🇧 English", callbacks.encode("lg", action, "en")),
            ]
        ]
    )


async def start(update: Update, context: LiaisonContext) -> None:
    """Join with an invite code, or greet a member again."""
    message = update.effective_message
    user = update.effective_user
    runtime = context.runtime
    member = context.member
    if not context.args:
        assert member is not None  # the gate only lets members reach a bare /start
        tr = member_translator(member)
        await message.reply_text(welcome_text(runtime, tr, member), reply_markup=main_keyboard(tr, member))
        return
    code = context.args[0]
    reader = member_translator(member, user.language_code)
    if not CODE_RE.match(code):
        await _refuse(message, member, JoinRefusal.UNKNOWN, reader)
        return
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        result = await join_with_invite(
            session,
            code=code,
            telegram_id=user.id,
            chat_id=update.effective_chat.id,
            display_name=user.full_name,
            username=user.username,
            language=supported_language(user.language_code),
            now=now,
        )
        if result.refusal is None and result.member is not None:
            await _tell_inviter(session, runtime, result.member)
    joined = result.member
    if result.refusal is JoinRefusal.ALREADY_MEMBER and joined is not None:
        tr = member_translator(joined)
        await message.reply_text(
            tr.gettext("You are already a member. {identity} Send /help to see what you can do.").format(
                identity=identity_text(runtime, tr, joined)
            )
        )
        return
    if result.refusal is JoinRefusal.SUSPENDED:
        tr = member_translator(joined, user.language_code)
        await message.reply_text(tr.gettext("Your access to Liaison is suspended. Contact your post chief."))
        return
    if result.refusal is not None:
        await _refuse(message, member, result.refusal, reader)
        return
    assert joined is not None
    await publish_member_commands(context.bot, joined)
    if joined.language is None:
        await message.reply_text(bilingual(LANGUAGE_QUESTION), reply_markup=language_keyboard(True))
        return
    tr = translator(joined.language)
    await message.reply_text(welcome_text(runtime, tr, joined), reply_markup=main_keyboard(tr, joined))


async def _refuse(message: object, member: Member | None, refusal: JoinRefusal, tr: Translator) -> None:
    """Explain a refused invite: in the member's language, or in both to a stranger."""
    text = tr.gettext(REFUSALS[refusal]) if member is not None else bilingual(REFUSALS[refusal])
    await message.reply_text(text)


async def _tell_inviter(session: object, runtime: Runtime, member: Member) -> None:
    """Queue a note to whoever created the invite that it was used."""
    if member.invited_by is None:
        return
    inviter = await session.get(Member, member.invited_by)
    if inviter is None or not inviter.is_active:
        return
    tr = member_translator(inviter)
    text = tr.gettext("{name} joined: {role}, {service}, {post}.").format(
        name=html.escape(member.display_name),
        role=role_name(tr, member.role),
        service=html.escape(service_name(runtime.config, tr, member.service_code)),
        post=html.escape(post_name(runtime.config, member.post_code)),
    )
    await enqueue_message(
        session,
        chat_id=inviter.chat_id,
        member_id=inviter.id,
        text=text,
        priority=Priority.NORMAL,
        ref=("member", member.id),
        now=runtime.clock.now(),
    )


async def help_command(update: Update, context: LiaisonContext) -> None:
    """List the commands the member's role may use."""
    member = context.member
    tr = member_translator(member)
    await update.effective_message.reply_text(
        f"{identity_text(context.runtime, tr, member)}\n\n{help_text(tr, member)}"
    )


async def language_command(update: Update, context: LiaisonContext) -> None:
    """Offer the two languages."""
    tr = member_translator(context.member)
    await update.effective_message.reply_text(
        tr.gettext("Choose your language:"), reply_markup=language_keyboard(False)
    )


async def language_chosen(update: Update, context: LiaisonContext) -> None:
    """Store the chosen language; welcome a newcomer in it."""
    query = update.callback_query
    data = callbacks.parse(query.data)
    member = context.member
    language = data.args[0] if data and data.args else None
    if data is None or language not in ("fr", "en") or data.action not in ("set", "first"):
        await query.answer(
            member_translator(member).gettext("This button is no longer valid."), show_alert=True
        )
        return
    async with context.runtime.db.transaction() as session:
        await set_member_language(session, member_id=member.id, language=language)
    member.language = language
    await publish_member_commands(context.bot, member)
    tr = translator(language)
    # TRANSLATORS: confirmation after choosing a language; name the language of the translation.
    confirmation = tr.gettext("Language set: English.")
    await query.answer(confirmation)
    await query.edit_message_text(confirmation)
    if data.action == "first":
        await query.message.reply_text(
            welcome_text(context.runtime, tr, member), reply_markup=main_keyboard(tr, member)
        )


# --- Creating invites -------------------------------------------------------------------------------------


async def invite_command(update: Update, context: LiaisonContext) -> None:
    """Start the invite wizard: role, then post, then service."""
    member = context.member
    tr = member_translator(member)
    roles = INVITABLE_ROLES[Role(member.role)]
    if not roles:
        await update.effective_message.reply_text(tr.gettext("Your role cannot invite anyone."))
        return
    if roles == (Role.AGENT,):
        await update.effective_message.reply_text(
            tr.gettext("Which service will the new agent belong to?"),
            reply_markup=_service_keyboard(context.runtime, tr, Role.AGENT, member.post_code),
        )
        return
    buttons = [(role_name(tr, role), callbacks.encode("iv", "r", role)) for role in roles]
    await update.effective_message.reply_text(
        tr.gettext("Whom do you want to invite?"), reply_markup=columns(buttons, 1)
    )


def _service_keyboard(runtime: Runtime, tr: Translator, role: str, post_code: str) -> object:
    services = runtime.config.post_services(post_code)
    buttons = [
        (service_name(runtime.config, tr, code), callbacks.encode("iv", "s", role, post_code, code))
        for code in services
    ]
    if role == Role.CHIEF:
        buttons.append(
            (tr.gettext("Whole post (no service)"), callbacks.encode("iv", "s", role, post_code, NO_SERVICE))
        )
    return columns(buttons, 2)


async def invite_step(update: Update, context: LiaisonContext) -> None:
    """Advance the invite wizard; every step re-checks the right to invite."""
    query = update.callback_query
    member = context.member
    runtime = context.runtime
    tr = member_translator(member)
    data = callbacks.parse(query.data)
    invalid = tr.gettext("This button is no longer valid.")
    if data is None or not data.args or data.args[0] not in {r.value for r in Role}:
        await query.answer(invalid, show_alert=True)
        return
    role = Role(data.args[0])
    post_codes = {p.code for p in runtime.config.posts}
    if data.action == "r" and (
        can_invite(member, role, None) or any(can_invite(member, role, code) for code in post_codes)
    ):
        await query.answer()
        if role == Role.COORDINATOR:
            await _issue_invite(query, context, role, None, None)
            return
        buttons = [
            (p.name, callbacks.encode("iv", "p", role, p.code))
            for p in runtime.config.posts
            if can_invite(member, role, p.code)
        ]
        await query.edit_message_text(tr.gettext("Which post?"), reply_markup=columns(buttons, 1))
        return
    if (
        data.action == "p"
        and len(data.args) == 2
        and data.args[1] in post_codes
        and can_invite(member, role, data.args[1])
    ):
        await query.answer()
        await query.edit_message_text(
            tr.gettext("Which service?"), reply_markup=_service_keyboard(runtime, tr, role, data.args[1])
        )
        return
    if data.action == "s" and len(data.args) == 3 and data.args[1] in post_codes:
        post_code, service = data.args[1], data.args[2]
        valid_service = service in runtime.config.post_services(post_code) or (
            service == NO_SERVICE and role == Role.CHIEF
        )
        if valid_service and can_invite(member, role, post_code):
            await query.answer()
            await _issue_invite(query, context, role, post_code, None if service == NO_SERVICE else service)
            return
    await query.answer(tr.gettext("You are not allowed to do this."), show_alert=True)


async def _issue_invite(
    query: object, context: LiaisonContext, role: Role, post_code: str | None, service: str | None
) -> None:
    """Create the invite and show the link, the code and the expiry in the post's time."""
    member = context.member
    runtime = context.runtime
    tr = member_translator(member)
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
    zone = (
        runtime.config.post(post_code or member.post_code).timezone
        if (post_code or member.post_code)
        else "UTC"
    )
    link = f"https://t.me/{runtime.bot_username}?start={code}"
    text = tr.gettext(
        "Invite for: {role}, {service}, {post}.\nValid once, until {expires}.\n\n"
        "{link}\n\nCode: <code>{code}</code>"
    ).format(
        role=role_name(tr, role),
        service=html.escape(service_name(runtime.config, tr, service)),
        post=html.escape(post_name(runtime.config, post_code)),
        expires=tr.datetime(expires, zone, "medium"),
        link=html.escape(link),
        code=code,
    )
    await query.edit_message_text(text)


def register(application: Application) -> None:
    """Register onboarding's commands and buttons."""
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("language", language_command))
    application.add_handler(CommandHandler("invite", invite_command))
    application.add_handler(CallbackQueryHandler(language_chosen, pattern=callbacks.pattern("lg")))
    application.add_handler(CallbackQueryHandler(invite_step, pattern=callbacks.pattern("iv")))
