"""Members: chiefs list and manage their post's members; coordinators every post's.

Commands: /members. Buttons (mb:): post <code> (also a card's Back), open/sus/susok/rei/rm/rmok <member id>
(sus and rm only ask: susok and rmok confirm).
A suspended, reinstated or removed member is told through the outbox (ref "access").
"""

from __future__ import annotations

from bot.access import Action
from bot.features import Command, Feature
from bot.i18n import N_
from handlers.members import handlers, log
from handlers.members.render import PREFIX
from handlers.members.service import ACCESS_NOTE

FEATURE = Feature(
    name="members",
    commands=(Command("members", N_("Members"), handlers.members_command, action=Action.LIST_MEMBERS),),
    callback_prefix=PREFIX,
    on_button=handlers.on_button,
    log_kinds=(log.LOG_KIND,),
    labels={ACCESS_NOTE: N_("Access change")},
)
