"""How alerts' audit entries read in the review log: one line each, and an alert's card when opened."""

from __future__ import annotations

import html
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.features import LogKind
from bot.i18n import N_, Translator
from bot.runtime import Runtime
from db import alerts as store
from db.audit import AuditEntry
from db.members import Member
from handlers.alerts.render import Reader, category_label, raised_by_author, render_card
from handlers.alerts.service import load_card_state

SEVERITY_WORDS = {"info": N_("information"), "important": N_("important"), "urgent": N_("urgent")}


def _services(runtime: Runtime, tr: Translator, pairs: list[Any]) -> str:
    """'Police, Gendarmerie' from stored 'POST/service' pairs."""
    names = []
    for pair in pairs or []:
        _post, service = store.split_pair(str(pair))
        names.append(runtime.config.service_name(service, tr.language))
    return ", ".join(dict.fromkeys(names)) or "—"


def summary(entry: AuditEntry, tr: Translator, runtime: Runtime) -> str:
    """One line for an alert entry, in the reader's language (plain text)."""
    details, number = entry.details or {}, entry.object_id or "?"
    action = entry.action
    if action == "alert.raised":
        return tr.gettext("Alert #{id} raised: {category}, {severity}").format(
            id=number,
            category=category_label(runtime.config, tr, str(details.get("category", "?"))),
            severity=tr.gettext(SEVERITY_WORDS.get(str(details.get("severity")), N_("information"))),
        )
    if action in ("alert.seen", "alert.taking_action"):
        line = (
            tr.gettext("Seen alert #{id}")
            if action == "alert.seen"
            else tr.gettext("Taking action on alert #{id}")
        ).format(id=number)
        if "seconds_to_ack" in details:
            line += " · " + tr.gettext("first of the service, after {time}").format(
                time=tr.duration(float(details["seconds_to_ack"]))
            )
        return line
    if action == "alert.escalated":
        return tr.gettext("Alert #{id} escalated (step {step}): waiting for {services}").format(
            id=number,
            step=details.get("step", "?"),
            services=_services(runtime, tr, details.get("pending", [])),
        )
    if action == "alert.handled" and details.get("stood_in_for"):
        # TRANSLATORS: review log: nobody of {services} was at the post; a chief or a coordinator answered.
        text = tr.gettext(
            "Alert #{id} handled after {time}: no member of {services} at the post, a post chief or a "
            "coordinator answered for them"
        )
        return text.format(
            id=number,
            time=tr.duration(float(details.get("seconds", 0))),
            services=_services(runtime, tr, details.get("stood_in_for", [])),
        )
    if action == "alert.handled":
        return tr.gettext("Alert #{id} handled: every required service acknowledged, after {time}").format(
            id=number, time=tr.duration(float(details.get("seconds", 0)))
        )
    if action == "alert.resolved":
        return tr.gettext("Alert #{id} resolved after {time}: {outcome}").format(
            id=number,
            time=tr.duration(float(details.get("seconds", 0))),
            # One line: an outcome typed on several reads "first · second".
            outcome=" · ".join(str(details.get("outcome", "")).splitlines()),
        )
    if action == "alert.delivered":
        total = sum(int(details.get(k, 0)) for k in ("sent", "pending", "failed", "unreachable"))
        line = tr.ngettext(
            "Alert #{id} delivered to {sent} of {total} person",
            "Alert #{id} delivered to {sent} of {total} people",
            total,
        ).format(id=number, sent=details.get("sent", 0), total=total)
        lost = int(details.get("failed", 0)) + int(details.get("unreachable", 0))
        if lost:
            line += " · " + tr.ngettext("{n} not delivered", "{n} not delivered", lost).format(n=lost)
        return line
    return tr.gettext("Alert #{id}: {action}").format(id=number, action=action)


async def detail(
    session: AsyncSession, runtime: Runtime, entry: AuditEntry, tr: Translator, reader: Member
) -> str | None:
    """The alert's card as a chief sees it (every service's acknowledgement time), and how long each took."""
    try:
        alert_id = int(entry.object_id or "")
    except ValueError:
        return None
    alert = await store.get_alert(session, alert_id=alert_id)
    if alert is None:
        return None
    state = await load_card_state(session, alert=alert)
    card = render_card(
        runtime.config,
        state,
        Reader(language=tr.language, post_code=alert.post_code, service_code=reader.service_code, full=True),
    )
    times = [
        tr.gettext("{service}: {time}").format(
            service=html.escape(runtime.config.service_name(ack.service_code, tr.language))
            + (f" ({html.escape(runtime.config.post_name(ack.post_code))})" if len(alert.posts) > 1 else ""),
            # The author's own service knows at once: it raised the alert.
            time=tr.gettext("raised it") if raised_by_author(alert, ack) else tr.duration(ack.seconds_to_ack),
        )
        for ack in state.acks
    ]
    if times:
        card += "\n\n<b>" + html.escape(tr.gettext("Time to acknowledge")) + "</b>\n" + "\n".join(times)
    return card


LOG_KIND = LogKind(
    key="alerts",
    # TRANSLATORS: a kind of entries in the review log.
    label=N_("Alerts"),
    action_prefixes=("alert.",),
    summary=summary,
    detail=detail,
)
