"""Invites: creating single-use, expiring invite links for a role, a post and a service.

Commands: /invite. Buttons (iv:): r <role>, p <role> <post>, s <role> <post> <service>.
"""

from __future__ import annotations

from bot.access import Action
from bot.features import Command, Feature
from bot.i18n import N_
from handlers.invites import wizard
from handlers.invites.render import PREFIX

FEATURE = Feature(
    name="invites",
    commands=(Command("invite", N_("Invite someone"), wizard.invite_command, action=Action.INVITE),),
    callback_prefix=PREFIX,
    on_button=wizard.on_button,
)
