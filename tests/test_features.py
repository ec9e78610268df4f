"""The shape of a feature: what the factory refuses to install, and presses no feature may trust."""

from __future__ import annotations

from tests.harness import Harness


async def test_forged_buttons_with_huge_ids_are_refused_not_crashed(liaison: Harness) -> None:
    chief = await liaison.member("Chef", role="chief", language="en")
    huge = "9" * 20
    for data in (
        f"mb:sus:{huge}",
        f"rl:p:{huge}",
        f"al:seen:{huge}",
        f"al:cat:{huge}:other",
        f"mb:open:{2**31}",
    ):
        await chief.tap_forged(data, chief.last.message_id)
        await liaison.settle()
        assert chief.callback_answers[-1].get("show_alert"), data
