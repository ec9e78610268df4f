"""/invite: chiefs invite agents of their post; coordinators chiefs and agents anywhere; admins coordinators.

The conversation glue only: the service says what each step may offer and issues the invite, render words
it. Every press is re-checked against the member the gate loaded from the database.
"""

from __future__ import annotations

from telegram import Update

from bot.callbacks import CallbackData
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext
from db.members import Role
from handlers.invites import render, service


async def invite_command(update: Update, context: LiaisonContext) -> None:
    """Start the invite wizard: role, then post, then service."""
    member, tr, message = context.active_member, context.tr, update.effective_message
    assert message is not None
    roles = service.invitable_roles(member)
    if not roles:
        await message.reply_text(tr.gettext("Your role cannot invite anyone."))
        return
    sole = service.sole_choice(member)
    if sole is not None:
        # A chief invites agents of their own post: the role and the post go without asking.
        role, post_code = sole
        choices = service.service_choices(context.runtime.config, role, post_code)
        text, keyboard = render.service_step(context.runtime.config, tr, role, post_code, choices, first=True)
    else:
        text, keyboard = render.role_step(tr, roles)
    await message.reply_text(text, reply_markup=keyboard)


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Advance the invite wizard; every step re-checks the right to invite."""
    query, member, runtime, tr = update.callback_query, context.active_member, context.runtime, context.tr
    assert query is not None
    config = runtime.config
    if not data.args or data.args[0] not in {r.value for r in Role}:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    role = Role(data.args[0])
    if data.action == "r" and service.may_choose_role(config, member, role):
        await answer(query)
        if not service.needs_post(role):
            await _issue(update, context, role, None, None)
            return
        await edit_message(query, *render.post_step(tr, role, service.posts_for(config, member, role)))
        return
    if (
        data.action == "p"
        and len(data.args) == 2
        and service.may_choose_post(config, member, role, data.args[1])
    ):
        post_code = data.args[1]
        await answer(query)
        choices = service.service_choices(config, role, post_code)
        await edit_message(query, *render.service_step(config, tr, role, post_code, choices))
        return
    if data.action == "s" and len(data.args) == 3:
        post_code, chosen = data.args[1], data.args[2]
        service_code = None if chosen == render.NO_SERVICE else chosen
        if service.may_choose_service(config, member, role, post_code, service_code):
            await answer(query)
            await _issue(update, context, role, post_code, service_code)
            return
    await answer(query, tr.gettext("You are not allowed to do this."), alert=True)


async def _issue(
    update: Update, context: LiaisonContext, role: Role, post_code: str | None, service_code: str | None
) -> None:
    """Issue the invite and show its link, code and expiry in place of the wizard."""
    query, runtime = update.callback_query, context.runtime
    assert query is not None
    async with runtime.db.transaction() as session:
        issued = await service.issue(
            session,
            runtime,
            context.active_member,
            role=role,
            post_code=post_code,
            service_code=service_code,
            # The same press handled twice (a retried update) never makes a second invite.
            request_key=f"cb:{query.id}",
        )
    if issued is None:
        return  # the same press handled a second time: its link was shown the first time
    await edit_message(query, render.invite_text(runtime.config, context.tr, issued, runtime.bot_username))
