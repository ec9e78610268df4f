"""/members: chiefs list and manage their post's members (suspend, reinstate, remove); coordinators any."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.callbacks import CallbackData
from bot.menu import publish_member_commands
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext
from db.members import MemberStatus
from handlers.members import render, service

# The presses that change a member's status. Suspending and removing are asked first (QUESTIONS): only
# their confirmations, "susok" and "rmok", change anything; reinstating restores, in one tap.
CHANGES = {"susok": MemberStatus.SUSPENDED, "rei": MemberStatus.ACTIVE, "rmok": MemberStatus.REMOVED}
QUESTIONS = {"sus": render.suspension_question, "rm": render.removal_question}
SUSPENDING = frozenset({"sus", "susok"})


async def members_command(update: Update, context: LiaisonContext) -> None:
    """List the post's members (chiefs) or ask which post (coordinators)."""
    member, tr, message = context.active_member, context.tr, update.effective_message
    assert message is not None
    if service.chooses_post(member):
        question, posts = render.post_question(tr, context.runtime.config.posts)
        await message.reply_text(question, reply_markup=posts)
        return
    text, keyboard = await _roster(context, member.post_code or "")
    await message.reply_text(text, reply_markup=keyboard)


async def _roster(context: LiaisonContext, post_code: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """The member list of a post as the reader sees it."""
    runtime = context.runtime
    async with runtime.db.reading() as session:
        found = await service.roster(session, context.active_member, post_code)
    return render.roster(runtime.config, context.tr, post_code, found.members, found.manageable)


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Handle the members buttons; every press is re-checked against the database."""
    query, tr = update.callback_query, context.tr
    assert query is not None
    if not data.args or data.action not in ("post", "open", *QUESTIONS, *CHANGES):
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    if data.action == "post":
        await _show_post(update, context, data.args[0])
        return
    await _on_member(update, context, data)


async def _show_post(update: Update, context: LiaisonContext, post_code: str) -> None:
    """Show a post's roster (a coordinator's choice, or a card's Back), if the presser may list it."""
    query, tr = update.callback_query, context.tr
    assert query is not None
    if not service.may_list(context.runtime.config, context.active_member, post_code):
        await answer(query, tr.gettext("You are not allowed to do this."), alert=True)
        return
    await answer(query)
    await edit_message(query, *await _roster(context, post_code))


async def _on_member(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Open a member's card, ask before suspending or removing them, or change their status."""
    query, actor, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    changed, removed = False, None
    async with runtime.db.transaction() as session:
        target = await service.manageable_member(session, actor, data.int_arg(0))
        if target is None:
            removed = await service.removed_member(session, actor, data.int_arg(0))
        elif data.action in CHANGES:
            changed = await service.change_status(session, runtime, actor, target, CHANGES[data.action])
    if removed is not None:
        # A button from before the removal (an old roster, card or question): say what happened.
        await answer(query, render.removed_text(tr).format(name=removed.display_name), alert=True)
        return
    if target is None:
        await answer(query, tr.gettext("You are not allowed to do this."), alert=True)
        return
    if data.action in SUSPENDING and target.status == MemberStatus.SUSPENDED and not changed:
        # Suspended meanwhile (a stale card, a doubled or late confirmation): refused, and the card shows why.
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        await edit_message(query, *render.member_card(runtime.config, tr, target))
        return
    if data.action in QUESTIONS:
        await answer(query)
        await edit_message(query, *QUESTIONS[data.action](tr, target))
        return
    if data.action not in CHANGES:
        await answer(query)
        await edit_message(query, *render.member_card(runtime.config, tr, target))
        return
    # A suspended or removed person's menu empties; a reinstated one gets theirs back.
    await publish_member_commands(context.bot, runtime.features, target)
    plain, shown = render.status_changed(tr, CHANGES[data.action], target.display_name)
    await answer(query, plain)
    if data.action == "rmok":
        await edit_message(query, shown, render.back_keyboard(tr, target))
        return
    await edit_message(query, *render.member_card(runtime.config, tr, target))
