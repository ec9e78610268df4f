"""Onboarding's commands and buttons: /start with an invite, /help, /language and the language buttons."""

from __future__ import annotations

import re

from telegram import CallbackQuery, Message, ReplyKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.access import is_global, may_raise_alert
from bot.callbacks import CallbackData
from bot.i18n import Translator, supported_language, translator
from bot.keyboards import main_keyboard
from bot.menu import publish_member_commands
from bot.replies import NOT_MODIFIED, answer, edit_message, reply
from bot.runtime import LiaisonContext
from bot.texts import bilingual
from db.invites import CODE_PATTERN
from db.members import Member, set_member_language
from db.onboarding import JoinRefusal
from handlers.onboarding import service
from handlers.onboarding.render import (
    LANGUAGE_QUESTION,
    REFUSALS,
    help_text,
    identity_text,
    language_keyboard,
    welcome_text,
)

CODE_RE = re.compile(CODE_PATTERN)


def _main_keyboard(tr: Translator, member: Member) -> ReplyKeyboardMarkup | None:
    """The persistent 🚨 key for whoever may raise an alert: a post's agents and chiefs at their post,
    coordinators at any post they pick (the same rule as the key itself)."""
    may_raise = is_global(member) or may_raise_alert(member, member.post_code)
    return main_keyboard(tr) if may_raise else None


async def start(update: Update, context: LiaisonContext) -> None:
    """Join with an invite code, or greet a member again."""
    message, user, runtime, member = (
        update.effective_message,
        update.effective_user,
        context.runtime,
        context.member,
    )
    assert message is not None and user is not None and update.effective_chat is not None
    if not context.args:
        assert member is not None  # the gate only lets members reach a bare /start
        tr = context.tr
        await message.reply_text(welcome_text(runtime, tr, member), reply_markup=_main_keyboard(tr, member))
        return
    code = context.args[0]
    if not CODE_RE.match(code):
        await _refuse(message, context, JoinRefusal.UNKNOWN)
        return
    person = service.Newcomer(
        telegram_id=user.id,
        chat_id=update.effective_chat.id,
        display_name=user.full_name,
        username=user.username,
        language=supported_language(user.language_code),
    )
    async with runtime.db.transaction() as session:
        result = await service.join(session, runtime, code=code, person=person)
    joined = result.member
    if result.refusal is JoinRefusal.ALREADY_MEMBER and joined is not None:
        tr = runtime.translator_for(joined) if joined.language else context.tr
        await message.reply_text(
            tr.gettext("You are already a member. {identity} Send /help to see what you can do.").format(
                identity=identity_text(runtime, tr, joined)
            )
        )
        return
    if result.refusal is JoinRefusal.SUSPENDED:
        tr = translator(joined.language) if joined is not None and joined.language else context.tr
        await message.reply_text(tr.gettext("Your access to Liaison is suspended. Contact your post chief."))
        return
    if result.refusal is not None:
        await _refuse(message, context, result.refusal)
        return
    assert joined is not None
    await publish_member_commands(context.bot, runtime.features, joined)
    if joined.language is None:
        await message.reply_text(bilingual(LANGUAGE_QUESTION), reply_markup=language_keyboard(True))
        return
    tr = translator(joined.language)
    await message.reply_text(welcome_text(runtime, tr, joined), reply_markup=_main_keyboard(tr, joined))


async def _refuse(message: Message, context: LiaisonContext, refusal: JoinRefusal) -> None:
    """Explain a refused invite: in the member's language, or in both to a stranger."""
    text = (
        context.tr.gettext(REFUSALS[refusal]) if context.member is not None else bilingual(REFUSALS[refusal])
    )
    await message.reply_text(text)


async def help_command(update: Update, context: LiaisonContext) -> None:
    """List the commands the member may use."""
    member, tr = context.active_member, context.tr
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        f"{identity_text(context.runtime, tr, member)}\n\n{help_text(context.runtime.features, tr, member)}"
    )


async def language_command(update: Update, context: LiaisonContext) -> None:
    """Offer the two languages."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        context.tr.gettext("Choose your language:"), reply_markup=language_keyboard(False)
    )


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Store the chosen language; welcome a newcomer in it."""
    query, member = update.callback_query, context.active_member
    assert query is not None and query.message is not None and member.id is not None
    language = data.args[0] if data.args else None
    if language not in ("fr", "en") or data.action not in ("set", "first"):
        await answer(query, context.tr.gettext("This button is no longer valid."), alert=True)
        return
    async with context.runtime.db.transaction() as session:
        await set_member_language(session, member_id=member.id, language=language)
    member.language = language
    await publish_member_commands(context.bot, context.runtime.features, member)
    tr = translator(language)
    # TRANSLATORS: confirmation after choosing a language; name the language of the translation.
    confirmation = tr.gettext("Language set: English.")
    await answer(query, confirmation)
    keyboard = _main_keyboard(tr, member)
    if data.action == "first":
        await edit_message(query, confirmation)
        await reply(query, welcome_text(context.runtime, tr, member), reply_markup=keyboard)
        return
    # An edited message cannot carry a reply keyboard, and the persistent keys would stay in the old language
    # until some later message replaced them: the confirmation comes as a new message with the new keys, and
    # the question becomes the choice made, in the new language and without buttons (already so: a repeated
    # press, confirmed once).
    # TRANSLATORS: the language question once answered; name the language of the translation.
    if await _settle_question(query, tr.gettext("Language: English ✅")):
        await reply(query, confirmation, reply_markup=keyboard)


async def _settle_question(query: CallbackQuery, text: str) -> bool:
    """Replace the pressed question with `text`, without buttons; False when it already reads so."""
    try:
        await query.edit_message_text(text, reply_markup=None)
    except BadRequest as exc:
        if NOT_MODIFIED not in str(exc).lower():
            raise
        return False
    return True
