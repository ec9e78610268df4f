"""/notices: the notices in force a member received (unread first, each with its Seen button), and those
they follow (sent by them, to their post, or any for coordinators) with their count."""

from __future__ import annotations

import html
from datetime import datetime

from telegram import InlineKeyboardMarkup, Update

from bot.callbacks import encode
from bot.i18n import Translator
from bot.keyboards import inline
from bot.replies import edit_message
from bot.runtime import LiaisonContext
from bot.texts import fit_lines
from handlers.notices import service
from handlers.notices.render import PREFIX, NoticeView, Tally, posts_label, quoted, seen_line, title


def count_markup(tr: Translator, view: NoticeView, tally: Tally, *, now: datetime) -> InlineKeyboardMarkup:
    """Buttons under a count opened from the list: refresh, and (while some have not read it) who, remind."""
    assert view.id is not None
    rows = [[(tr.gettext("🔄 Refresh"), encode(PREFIX, "cnt", view.id, "r"))]]
    if tally.seen < tally.total:
        rows.append([(tr.gettext("🙈 Who has not read it?"), encode(PREFIX, "who", view.id))])
        if view.expired_at is None and view.expires_at > now:
            rows.append([(tr.gettext("🔔 Remind them"), encode(PREFIX, "rem", view.id))])
    return inline(rows)


async def render_list(context: LiaisonContext) -> tuple[str, InlineKeyboardMarkup | None]:
    """The member's list, and its buttons."""
    member, runtime, tr = context.active_member, context.runtime, context.tr
    config = runtime.config
    async with runtime.db.reading() as session:
        mine = await service.received(session, runtime, member)
        watched = await service.followed(session, runtime, member)
    if not mine and not watched:
        return tr.gettext("No notice in force for you."), None
    lines: list[str] = []
    rows: list[list[tuple[str, str]]] = []
    if mine:
        unread = sum(1 for _, r in mine if r.seen_at is None)
        header = tr.gettext("Notices in force")
        if unread:
            header += " · " + tr.ngettext("{n} unread", "{n} unread", unread).format(n=unread)
        lines.append("<b>" + html.escape(header) + "</b>")
        for view, recipient in mine:
            assert view.id is not None
            zone = config.post_zone(recipient.post_code)
            state = "🔵" if recipient.seen_at is None else "✓"
            lines.append(
                f"{state} {title(tr, view)} · {tr.short_datetime(view.sent_at, zone)} · "
                f"{html.escape(view.author_name)}"
            )
            # The reader's language now, not the one their copy was sent in: they may have switched since.
            lines.append("   " + quoted(tr, view.text_for(tr.language), 90))
            if recipient.seen_at is not None:
                lines.append("   " + seen_line(tr, recipient.seen_at, zone))
            row = [(tr.gettext("📖 Read #{id}").format(id=view.id), encode(PREFIX, "read", view.id))]
            if recipient.seen_at is None:
                row.insert(
                    0, (tr.gettext("☑️ Seen #{id}").format(id=view.id), encode(PREFIX, "seen", view.id, "l"))
                )
            rows.append(row)
    if watched:
        if lines:
            lines.append("")
        lines.append("<b>" + html.escape(tr.gettext("Notices you follow")) + "</b>")
        for view, tally in watched:
            assert view.id is not None
            lines.append(
                f"{title(tr, view)} · {posts_label(config, tr, view.posts)} · "
                + tr.gettext("Seen {seen} / {total}").format(seen=tally.seen, total=tally.total)
            )
            # Its beginning, as under the notices in force: a number and a post do not say which notice.
            lines.append("   " + quoted(tr, view.text_for(tr.language), 90))
            rows.append(
                [
                    (
                        tr.gettext("📊 #{id} · {seen}/{total}").format(
                            id=view.id, seen=tally.seen, total=tally.total
                        ),
                        encode(PREFIX, "cnt", view.id),
                    )
                ]
            )
    return "\n".join(fit_lines(tr, lines)), inline(rows) if rows else None


async def notices_command(update: Update, context: LiaisonContext) -> None:
    """/notices: what is in force for the member, unread first."""
    message = update.effective_message
    assert message is not None
    text, markup = await render_list(context)
    await message.reply_text(text, reply_markup=markup)


async def refresh_list(update: Update, context: LiaisonContext) -> None:
    """Redraw the list the member pressed on (after a Seen from it)."""
    assert update.callback_query is not None
    text, markup = await render_list(context)
    await edit_message(update.callback_query, text, markup)
