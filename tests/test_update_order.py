"""One person's updates are handled in order; different people's run side by side."""

from __future__ import annotations

import asyncio

from telegram import Update, User

from bot.updates import PerUserUpdateProcessor


def update_from(user_id: int, update_id: int) -> Update:
    """A minimal callback-less update from a user."""
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": User(user_id, "U", False).to_dict(),
                "text": "x",
            },
        },
        None,
    )


async def test_same_user_is_serialised_and_others_are_not() -> None:
    processor = PerUserUpdateProcessor(16)
    events: list[str] = []
    release = asyncio.Event()

    async def handler(name: str, wait: bool) -> None:
        events.append(f"start {name}")
        if wait:
            await release.wait()
        events.append(f"end {name}")

    first = asyncio.create_task(processor.process_update(update_from(1, 1), handler("a1", True)))
    second = asyncio.create_task(processor.process_update(update_from(1, 2), handler("a2", False)))
    other = asyncio.create_task(processor.process_update(update_from(2, 3), handler("b1", False)))
    await other  # another person is not held up by user 1's slow update
    assert events == ["start a1", "start b1", "end b1"]
    release.set()
    await asyncio.gather(first, second)
    assert events[3:] == ["end a1", "start a2", "end a2"]
    assert processor._locks == {}
