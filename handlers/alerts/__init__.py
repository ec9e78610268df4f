"""Alerts: raised with category and severity, fanned out to the post (and partner posts), acknowledged per
service, escalated along a ladder, resolved with an outcome.

Commands: /alert [severity category: text] (or the persistent "🚨 Alert" button), /alerts.
Buttons (al:): cat/sev/ok/no (the raise draft), seen/act (acknowledge), res/nores (resolve), open (/alerts).
Conversations: alert (raise), alert_outcome (the outcome line of a resolution).
Scheduled kinds: alert_escalation (al:<id>:esc:<n>), alert_delivery (al:<id>:dlv:<n>, and
al:<id>:dlv:e<step>:<n> after an escalation step's new copies).
"""

from __future__ import annotations

from bot.access import Action
from bot.features import Command, Feature, MemberEvent, TextTrigger
from bot.i18n import N_
from bot.keyboards import ALERT_BUTTON_TEXTS
from handlers.alerts import buttons, escalation, listing, log, raising, resolving
from handlers.alerts.render import PREFIX
from handlers.alerts.service import DELIVERY_CHECK_KIND, ESCALATION_KIND, catch_up_returning_member

FEATURE = Feature(
    name="alerts",
    commands=(
        Command("alert", N_("Raise an alert"), raising.alert_command, action=Action.RAISE_ALERT),
        Command("alerts", N_("Open alerts"), listing.alerts_command, action=Action.VIEW_POST),
    ),
    callback_prefix=PREFIX,
    on_button=buttons.on_button,
    text_triggers=(TextTrigger(ALERT_BUTTON_TEXTS, raising.start_conversation),),
    conversations=(raising.RAISE, resolving.OUTCOME),
    runners={ESCALATION_KIND: escalation.run_escalation, DELIVERY_CHECK_KIND: escalation.run_delivery_check},
    job_labels={
        ESCALATION_KIND: N_("an alert's escalation"),
        DELIVERY_CHECK_KIND: N_("an alert's delivery check"),
    },
    member_hooks={MemberEvent.RETURNED: catch_up_returning_member},
    labels={"alert": N_("Alert")},
    log_kinds=(log.LOG_KIND,),
)
