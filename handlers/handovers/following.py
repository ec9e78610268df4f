"""Following handovers: the chiefs' /handovers (the day's shift changes by service at a glance), a service's
last handovers, opening one, and reading one in full."""

from __future__ import annotations

import html

from telegram import InlineKeyboardMarkup, Update

from bot.access import is_global, may_follow_handovers
from bot.callbacks import CallbackData
from bot.replies import answer, edit_message, reply
from bot.runtime import LiaisonContext
from db import handovers as store
from db.outbox import build_message, enqueue_many
from handlers.handovers import render, service

BUTTONS = frozenset({"posts", "post", "svcs", "svc", "open", "full"})


async def handovers_command(update: Update, context: LiaisonContext) -> None:
    """/handovers: a chief's post at a glance; coordinators pick the post first."""
    member, tr, runtime = context.active_member, context.tr, context.runtime
    message = update.effective_message
    assert message is not None
    if is_global(member):
        await message.reply_text(
            tr.gettext("📋 Handovers: which post?"),
            reply_markup=render.posts_markup(runtime.config, [p.code for p in runtime.config.posts]),
        )
        return
    post_code = member.post_code or ""
    if not may_follow_handovers(member, post_code) or runtime.config.find_post(post_code) is None:
        await message.reply_text(tr.gettext("You are not allowed to do this."))
        return
    text, markup = await _day_view(context, post_code)
    await message.reply_text(text, reply_markup=markup)


async def _day_view(context: LiaisonContext, post_code: str) -> tuple[str, InlineKeyboardMarkup]:
    runtime, tr = context.runtime, context.tr
    async with runtime.db.reading() as session:
        changes, names = await service.day_statuses(session, runtime, post_code)
    text = render.day_view_text(runtime.config, tr, post_code, changes, names)
    markup = render.day_view_markup(
        runtime.config, tr, post_code, changes, back=is_global(context.active_member)
    )
    return text, markup


async def follow_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """The chiefs' views (posts, a post's day, services, a service's history) and opening a handover."""
    query, tr, runtime, member = update.callback_query, context.tr, context.runtime, context.active_member
    assert query is not None and query.message is not None
    if data.action in ("open", "full"):
        await _open(update, context, data.int_arg(0), full=data.action == "full")
        return
    config = runtime.config
    if data.action == "posts":
        if not is_global(member):
            await answer(query, tr.gettext("You are not allowed to do this."), alert=True)
            return
        await answer(query)
        await edit_message(
            query,
            tr.gettext("📋 Handovers: which post?"),
            render.posts_markup(config, [p.code for p in config.posts]),
        )
        return
    post_code = data.args[0] if data.args else ""
    if config.find_post(post_code) is None or not may_follow_handovers(member, post_code):
        await answer(query, tr.gettext("You are not allowed to do this."), alert=True)
        return
    if data.action == "post":
        text, markup = await _day_view(context, post_code)
        await answer(query)
        await edit_message(query, text, markup)
        return
    if data.action == "svcs":
        await answer(query)
        await edit_message(
            query,
            tr.gettext("📚 Whose last handovers, at {post}?").format(
                post=html.escape(config.post_name(post_code))
            ),
            render.services_markup(config, tr, post_code),
        )
        return
    service_code = data.args[1] if len(data.args) > 1 else ""
    page = data.int_arg(2)
    if service_code not in config.post_services(post_code) or page is None or page < 0:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    async with runtime.db.reading() as session:
        handovers, total, names = await service.history(
            session, post_code=post_code, service_code=service_code, page=page
        )
    await answer(query)
    await edit_message(
        query,
        render.history_text(config, tr, post_code, service_code, handovers, names, page, total),
        render.history_markup(config, tr, post_code, service_code, handovers, page, total),
    )


async def _open(update: Update, context: LiaisonContext, handover_id: int | None, *, full: bool) -> None:
    """Show a handover as it stands (to its readers only); `full`: every word of it, in as many messages as
    it takes, sent through the delivery queue (paced like any other)."""
    query, tr, runtime, member = update.callback_query, context.tr, context.runtime, context.active_member
    assert query is not None and query.message is not None
    async with runtime.db.reading() as session:
        handover = await store.get_handover(session, handover_id=handover_id or 0)
        allowed = handover is not None and service.may_read(runtime, member, handover)
        view = await service.load_view(session, handover) if allowed and handover is not None else None
    if view is None or handover is None:
        await answer(query, tr.gettext(render.NOT_YOURS), alert=True)
        return
    if not full:
        text, truncated = render.render_copy(runtime.config, tr, view)
        await answer(query)
        await reply(
            query,
            text,
            reply_markup=render.copy_markup(
                tr, handover, may_accept=service.may_accept(member, handover), truncated=truncated
            ),
        )
        return
    messages = render.render_full(runtime.config, tr, view)
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        await enqueue_many(
            session,
            [
                build_message(
                    chat_id=member.chat_id,
                    text=text,
                    member_id=member.id,
                    ref=("handover", handover.id or 0),
                    now=now,
                )
                for text in messages
            ],
        )
    await answer(
        query,
        tr.ngettext(
            "The whole handover follows ({n} message).",
            "The whole handover follows ({n} messages).",
            len(messages),
        ).format(n=len(messages)),
    )
