"""/alerts: the open alerts a member may see, newest first, each with a button to open its card."""

from __future__ import annotations

import html

from telegram import Update

from bot.access import Action, can, is_global
from bot.callbacks import encode
from bot.keyboards import inline, main_keyboard
from bot.runtime import LiaisonContext
from db.alerts import pending_required
from handlers.alerts import service
from handlers.alerts.render import PREFIX, SEVERITY_ICONS, alert_number, category_label
from handlers.alerts.rules import unstaffed_pairs


async def alerts_command(update: Update, context: LiaisonContext) -> None:
    """/alerts: the open alerts of the member's post (and those shared with them), newest first."""
    member, runtime, message, tr = (
        context.active_member,
        context.runtime,
        update.effective_message,
        context.tr,
    )
    assert message is not None
    if not can(member, Action.VIEW_POST, member.post_code):
        await message.reply_text(tr.gettext("You are not allowed to do this."))
        return
    async with runtime.db.reading() as session:
        states = await service.visible_open_alerts(session, member, every_post=is_global(member))
    if not states:
        await message.reply_text(tr.gettext("No open alert at your post."), reply_markup=main_keyboard(tr))
        return
    config = runtime.config
    lines = ["<b>" + html.escape(tr.gettext("Open alerts")) + "</b>"]
    # A coordinator's list may mix posts of two zones: each time then names its zone.
    named = len({config.post_zone(member.post_code, s.alert.post_code) for s in states}) > 1
    buttons = []
    for state in states:
        alert = state.alert
        # A post's members read times in their post's zone; coordinators in each alert's own post's zone.
        zone = config.post_zone(member.post_code, alert.post_code)
        pending = len(pending_required(alert, state.acks))
        unstaffed = unstaffed_pairs(config, alert)
        if pending:
            status = tr.ngettext("{n} service pending", "{n} services pending", pending).format(n=pending)
        elif not alert.required and not unstaffed:
            # TRANSLATORS: in the list of open alerts: no service is asked to acknowledge this one.
            status = tr.gettext("for information")
        elif alert.handled_at is not None:
            status = tr.gettext("handled")
        elif unstaffed:
            # TRANSLATORS: in the list of open alerts: a required service has nobody at the post.
            status = tr.gettext("waiting for a chief or a coordinator")
        else:
            # No service required (none has anybody at the post), none acknowledged yet.
            status = tr.gettext("waiting for a service")
        lines.append(
            f"{SEVERITY_ICONS.get(alert.severity, '')} {alert_number(tr, alert.id)} · "
            f"{html.escape(category_label(config, tr, alert.category))} · "
            f"{html.escape(config.post_name(alert.post_code))} · "
            f"{tr.short_datetime_in(alert.raised_at, zone, named=named)} · {status}"
        )
        buttons.append(
            [
                (
                    f"{alert_number(tr, alert.id)} · {category_label(config, tr, alert.category)}",
                    encode(PREFIX, "open", alert.id),
                )
            ]
        )
    await message.reply_text("\n".join(lines), reply_markup=inline(buttons))
