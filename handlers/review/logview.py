"""/log: a page of a post's log, previous/next, filters with buttons, dates typed, an entry opened in full.

Buttons carry the view's id (the filter lives in `review_views`) and, for paging, the id of the entry a page
continues from; every press loads the view again (it must be the presser's) and checks the post against what
the presser may read now.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update

from bot import conversations
from bot.callbacks import CallbackData
from bot.conversations import DraftData
from bot.dates import DayProblem, DayRefused, day_example, parse_day_range
from bot.features import Conversation
from bot.i18n import N_
from bot.replies import answer, edit_message
from bot.runtime import LiaisonContext
from db import review as store
from db.drafts import Draft
from db.members import member_names
from db.review import ReviewView
from handlers.review import render, service

NOT_YOURS = N_("This list is no longer valid: send /log again.")
OTHER_POST = N_("You can read only the log of your own post ({post}).")
NO_SUCH_POST = N_("There is no post called “{text}”. Posts: {posts}.")
NO_ENTRY = N_("This entry does not exist or is not from a post you may read.")
DATES_STEP = "dates"
DATE_PROBLEMS = {
    DayProblem.UNREADABLE: N_(
        "I could not read these dates. Send the first and the last day, for example {example}, or a "
        "single day."
    ),
    DayProblem.NONEXISTENT: N_("This date does not exist. For example: {example}."),
    DayProblem.FUTURE: N_("The log stops today ({today}): send days up to today, for example {example}."),
    DayProblem.TOO_OLD: N_("The log can be read {days} days back at most: send days from {earliest} on."),
}


class DatesData(DraftData):
    """The view waiting for typed dates."""

    view_id: int


async def _view(context: LiaisonContext, view_id: int | None) -> ReviewView | None:
    """The presser's own view (None: another's, gone, or forged)."""
    member = context.active_member
    if view_id is None or member.id is None:
        return None
    async with context.runtime.db.reading() as session:
        view = await store.get_view(session, view_id=view_id, member_id=member.id)
    if view is None or (view.post_code is not None and not service.may_read(member, view.post_code)):
        return None
    if view.post_code is None and service.reads_one_post(member):
        return None
    return view


async def _page(
    context: LiaisonContext,
    view: ReviewView,
    *,
    direction: str = "first",
    anchor: int | None = None,
    number: int = 1,
    total: int | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    runtime, tr, member = context.runtime, context.tr, context.active_member
    # A count carried by a button (never trusted beyond what it can be: it only labels the page).
    known = total if total is not None and 0 <= total <= service.COUNT_CAP + 1 else None
    async with runtime.db.reading() as session:
        page = await service.load_page(
            session, runtime, member, view, direction=direction, anchor=anchor, number=number, total=known
        )
    return render.page_text(tr, runtime, view, page), render.page_markup(tr, view, page, runtime=runtime)


async def log_command(update: Update, context: LiaisonContext) -> None:
    """/log [post]: the last 7 days of the reader's post (a chief), or of every post (a coordinator)."""
    member, runtime, tr, message = (
        context.active_member,
        context.runtime,
        context.tr,
        update.effective_message,
    )
    assert message is not None
    posts = service.readable_posts(runtime, member)
    every_post = not service.reads_one_post(member)
    typed = " ".join(context.args or []) if message.text and message.text.startswith("/") else ""
    post_code: str | None = None if every_post else member.post_code
    if typed:
        found = service.find_post(runtime, typed)
        if found is None:
            names = ", ".join(runtime.config.post_name(code) for code in posts)
            await message.reply_text(
                html.escape(tr.gettext(NO_SUCH_POST).format(text=typed[:40], posts=names))
            )
            return
        if found not in posts:
            await message.reply_text(
                html.escape(tr.gettext(OTHER_POST).format(post=runtime.config.post_name(member.post_code)))
            )
            return
        post_code = found
    async with runtime.db.transaction() as session:
        view = await store.create_view(session, view=service.new_view(runtime, member, post_code=post_code))
    text, markup = await _page(context, view)
    await message.reply_text(text, reply_markup=markup)


async def on_button(update: Update, context: LiaisonContext, data: CallbackData) -> None:
    """Route the rv: buttons of a /log page."""
    query, tr = update.callback_query, context.tr
    assert query is not None
    view = await _view(context, data.int_arg(0))
    if view is None:
        await answer(query, tr.gettext(NOT_YOURS), alert=True)
        return
    action = data.action
    if action in ("nx", "pv", "at"):
        direction = {"nx": "older", "pv": "newer", "at": "at"}[action]
        await answer(query)
        text, markup = await _page(
            context,
            view,
            direction=direction,
            anchor=data.int_arg(1),
            number=data.int_arg(2) or 1,
            total=data.int_arg(3),
        )
        await edit_message(query, text, markup)
    elif action == "op":
        await _open(update, context, view, data)
    elif action == "f":
        await _choose(update, context, view, data.args[1] if len(data.args) > 1 else "")
    elif action in ("p", "w", "k", "s"):
        await _set_filter(update, context, view, action, data.args[1] if len(data.args) > 1 else "")
    elif action == "x":
        from handlers.review import exporting

        await exporting.export_button(update, context, view, data.args[1] if len(data.args) > 1 else "")
    else:
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)


async def _open(update: Update, context: LiaisonContext, view: ReviewView, data: CallbackData) -> None:
    """Open one entry in full, if the presser may read its post."""
    query, runtime, tr, member = update.callback_query, context.runtime, context.tr, context.active_member
    assert query is not None and view.id is not None
    async with runtime.db.reading() as session:
        entry = await service.open_entry(session, member, data.int_arg(1))
        if entry is None:
            await answer(query, tr.gettext(NO_ENTRY), alert=True)
            return
        entry = service.with_subject(entry, await service.member_subjects(session, [entry]))
        kind = service.kind_of(runtime, entry)
        detail = None
        if kind is not None and kind.detail is not None:
            detail = await kind.detail(session, runtime, entry, tr, member)
        names = await member_names(
            session, member_ids={entry.actor_member_id} if entry.actor_member_id else set()
        )
    await answer(query)
    text = render.entry_text(tr, runtime, entry, who=names.get(entry.actor_member_id or 0), detail=detail)
    total = data.int_arg(4)
    markup = render.entry_markup(
        tr, view.id, data.int_arg(2) or 0, data.int_arg(3) or 1, -1 if total is None else total
    )
    await edit_message(query, text, markup)


async def _choose(update: Update, context: LiaisonContext, view: ReviewView, which: str) -> None:
    """Show one filter's choices in place of the page."""
    query, runtime, tr, member = update.callback_query, context.runtime, context.tr, context.active_member
    assert query is not None
    if which not in ("post", "period", "kind", "service"):
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer(query)
    every_post = not service.reads_one_post(member)
    text, markup = render.chooser(
        tr, runtime, view, which, service.readable_posts(runtime, member), every_post=every_post
    )
    await edit_message(query, text, markup)


async def _set_filter(
    update: Update, context: LiaisonContext, view: ReviewView, action: str, value: str
) -> None:
    """Apply a choice (checked again: a post the presser may read, a known kind or service); page 1."""
    query, runtime, tr, member = update.callback_query, context.runtime, context.tr, context.active_member
    assert query is not None
    changes: dict[str, object] = {}
    if action == "p":
        if value == "all" and not service.reads_one_post(member):
            post_code = None
        elif value in service.readable_posts(runtime, member):
            post_code = value
        else:
            post = runtime.config.post_name(member.post_code)
            await answer(query, tr.gettext(OTHER_POST).format(post=post), alert=True)
            return
        changes["post_code"] = post_code
        if view.period in service.PERIODS:
            since, until = service.period_window(
                view.period, now=runtime.clock.now(), zone=service.view_zone(runtime, post_code)
            )
            changes.update(since=since, until=until)
        if view.service_code and view.service_code not in service.services_of(runtime, post_code):
            changes["service_code"] = None
    elif action == "w":
        if value == "dates":
            await _ask_dates(update, context, view)
            return
        if value not in service.PERIODS:
            await answer(query, tr.gettext("This button is no longer valid."), alert=True)
            return
        since, until = service.period_window(
            value, now=runtime.clock.now(), zone=service.view_zone(runtime, view.post_code)
        )
        changes.update(period=value, since=since, until=until)
    elif action == "k":
        if value != "all" and service.kind_named(runtime, value) is None:
            await answer(query, tr.gettext("This button is no longer valid."), alert=True)
            return
        changes["kind"] = None if value == "all" else value
    else:
        if value != "all" and value not in service.services_of(runtime, view.post_code):
            await answer(query, tr.gettext("This button is no longer valid."), alert=True)
            return
        changes["service_code"] = None if value == "all" else value
    async with runtime.db.transaction() as session:
        fresh = await store.get_view(session, view_id=view.id or 0, member_id=member.id or 0)
        if fresh is None:
            await answer(query, tr.gettext(NOT_YOURS), alert=True)
            return
        view = await store.update_view(session, view=fresh, **changes)
    await answer(query)
    text, markup = await _page(context, view)
    await edit_message(query, text, markup)


# ----- typed dates ------------------------------------------------------------------------------------------


async def _ask_dates(update: Update, context: LiaisonContext, view: ReviewView) -> None:
    """Ask for a first and a last day, in the reader's date format."""
    query, runtime, tr = update.callback_query, context.runtime, context.tr
    assert query is not None and view.id is not None
    _draft, fresh = await conversations.begin(
        update, context, DATES, token=f"{query.id}", step=DATES_STEP, data=DatesData(view_id=view.id)
    )
    await answer(query)
    if not fresh:
        return
    assert update.effective_chat is not None
    zone = service.view_zone(runtime, view.post_code)
    await update.effective_chat.send_message(
        html.escape(
            tr.gettext(
                "Send the first and the last day of the period, for example {example} (or a single day). "
                "Days are read in the time of {place}."
            ).format(
                example=day_example(tr.language, zone=zone, now=runtime.clock.now()),
                place=runtime.config.post_name(view.post_code)
                if view.post_code
                else f"{zone} ({render.zone_label(runtime.clock.now(), zone)})",
            )
        )
    )


async def on_dates(update: Update, context: LiaisonContext, draft: Draft) -> bool:
    """Typed dates: a clear answer when refused (the question stays open), the page when read."""
    runtime, tr, member, message = (
        context.runtime,
        context.tr,
        context.active_member,
        update.effective_message,
    )
    assert message is not None
    if not message.text:
        await message.reply_text(
            html.escape(tr.gettext("Please answer with the dates, or send /cancel to stop."))
        )
        return True
    data = DatesData.of(draft)
    view = await _view(context, data.view_id)
    if view is None:
        await conversations.close(context, draft)
        await message.reply_text(html.escape(tr.gettext(NOT_YOURS)))
        return True
    if service.find_post(runtime, message.text) is not None and not service.may_read(
        member, service.find_post(runtime, message.text)
    ):
        post = runtime.config.post_name(member.post_code)
        await message.reply_text(html.escape(tr.gettext(OTHER_POST).format(post=post)))
        return True
    zone = service.view_zone(runtime, view.post_code)
    now = runtime.clock.now()
    max_days = runtime.config.review.max_days
    try:
        first, last = parse_day_range(
            message.text, language=tr.language, zone=zone, now=now, max_days=max_days
        )
    except DayRefused as refused:
        today = now.astimezone(ZoneInfo(zone)).date()
        await message.reply_text(
            html.escape(
                tr.gettext(DATE_PROBLEMS[refused.problem]).format(
                    example=day_example(tr.language, zone=zone, now=now),
                    today=_day(tr.language, today),
                    days=max_days,
                    earliest=_day(tr.language, today - timedelta(days=max_days - 1)),
                )
            )
        )
        return True
    since, until = service.dates_window(first, last, zone)
    async with runtime.db.transaction() as session:
        fresh = await store.get_view(session, view_id=view.id or 0, member_id=member.id or 0)
        if fresh is not None:
            view = await store.update_view(session, view=fresh, period="dates", since=since, until=until)
    await conversations.close(context, draft)
    text, markup = await _page(context, view)
    await message.reply_text(text, reply_markup=markup)
    return True


def _day(language: str, day: date) -> str:
    from bot.dates import format_day

    return format_day(language, day)


DATES = Conversation(
    flow="review_dates",
    on_input=on_dates,
    ttl=timedelta(hours=1),
    cancelled=N_("Cancelled: the log keeps its period."),
    typed_steps=frozenset({DATES_STEP}),
)
