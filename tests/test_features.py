"""The shape of a feature: what the factory refuses to install, and presses no feature may trust."""

from __future__ import annotations

import dataclasses

import pytest

from bot.app import build_application
from bot.config import Config
from bot.features import Command, Conversation, Feature, FeatureConflict
from bot.i18n import N_
from handlers import FEATURES, alerts, reminders
from sandbox.emulator import BotApiEmulator
from sandbox.emulator.request import EmulatorRequest
from tests.harness import TOKEN, Harness


def build(config: Config, features: tuple[Feature, ...]) -> None:
    """Build (not start) an application with these features, as `liaison run` would."""
    build_application(
        config,
        token=TOKEN,
        request=EmulatorRequest(BotApiEmulator(TOKEN)),
        features=features,
        database=None,
        start_background=False,
        migrate_on_start=False,
    )


async def _nothing(*_: object) -> None:
    """A callback that is never called."""


def test_the_shipped_features_install(config: Config) -> None:
    build(config, FEATURES)


def test_two_features_claiming_one_callback_prefix_are_refused(config: Config) -> None:
    thief = Feature(name="thief", callback_prefix="al", on_button=_nothing)
    with pytest.raises(FeatureConflict, match="callback prefix 'al' is claimed by both 'alerts' and 'thief'"):
        build(config, (*FEATURES, thief))


def test_a_command_without_a_menu_entry_is_refused(config: Config) -> None:
    silent = Feature(name="silent", commands=(Command("silent", "", _nothing),))
    with pytest.raises(FeatureConflict, match="command /silent has no menu entry"):
        build(config, (*FEATURES, silent))


def test_an_untranslated_menu_entry_is_refused(config: Config) -> None:
    english = Feature(
        name="english", commands=(Command("english", N_("Only in English, never translated"), _nothing),)
    )
    with pytest.raises(FeatureConflict, match="has no French translation"):
        build(config, (*FEATURES, english))


def test_duplicate_commands_runner_kinds_and_conversations_are_refused(config: Config) -> None:
    borrowed_command = Feature(name="copycat", commands=(dataclasses.replace(alerts.FEATURE.commands[0]),))
    with pytest.raises(FeatureConflict, match="command 'alert' is claimed by both"):
        build(config, (*FEATURES, borrowed_command))
    borrowed_kind = Feature(name="copycat", runners={"reminder": reminders.service.run_reminder})
    with pytest.raises(FeatureConflict, match="runner kind 'reminder' is claimed by both"):
        build(config, (*FEATURES, borrowed_kind))
    borrowed_flow = Feature(name="copycat", conversations=(Conversation("alert", _nothing),))
    with pytest.raises(FeatureConflict, match="conversation 'alert' is claimed by both"):
        build(config, (*FEATURES, borrowed_flow))


def test_a_badly_shaped_prefix_is_refused(config: Config) -> None:
    for prefix in ("a", "Al", "al:x", "alerts"):
        odd = Feature(name="odd", callback_prefix=prefix, on_button=_nothing)
        with pytest.raises(FeatureConflict, match="must be 2 to 4 lower-case letters"):
            build(config, (odd,))


async def test_forged_buttons_with_huge_ids_are_refused_not_crashed(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    huge = "9" * 20
    for data in (
        f"mb:sus:{huge}",
        f"rm:pause:{huge}:0",
        f"rm:rep:{huge}:daily",
        f"al:seen:{huge}",
        f"al:cat:{huge}:other",
        f"mb:open:{2**31}",
    ):
        await chief.tap_forged(data, chief.last.message_id)
        await liaison.settle()
        assert chief.callback_answers[-1].get("show_alert"), data
