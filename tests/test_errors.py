"""Handler failures: logged with context but never the token; the person hears that nothing was lost."""

from __future__ import annotations

import logging

import pytest
from telegram.error import NetworkError

from bot.delivery.direct import RETRY_DELAYS
from bot.logs import RedactSecrets
from tests.harness import TOKEN, Harness


async def test_a_failing_handler_tells_the_user_in_their_language(
    liaison: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    agent = await liaison.member("Awa", language="fr")
    before = len(agent.inbox)
    # Telegram answers the handler's reply with a 500 at every try (each attempt's call tries again briefly
    # itself): the handler fails mid-way each time, and only the last failure reaches the person (earlier
    # ones are tried again silently).
    attempts = liaison.config.inbox.max_attempts * (1 + len(RETRY_DELAYS))
    liaison.emulator.faults.inject(500, method="sendMessage", chat_id=agent.id, count=attempts)
    await agent.send("/help")
    with (
        caplog.at_level(logging.ERROR, logger="bot.errors"),
        pytest.raises(AssertionError, match="NetworkError"),
    ):
        await liaison.settle()
    assert agent.texts[before:] == [
        "Un problème est survenu de notre côté. Rien de ce que vous avez envoyé n'est perdu ; "
        "réessayez dans un instant."
    ]
    assert any("Handler failed for update" in r.getMessage() for r in caplog.records)
    replies = [
        c.status
        for c in liaison.emulator.calls
        if c.method == "sendMessage" and int(c.params["chat_id"]) == agent.id
    ]
    assert replies[-attempts - 1 :] == [500] * attempts + [200], "tried each time, then told once"
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_the_token_is_scrubbed_from_every_log_line() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST https://api/bot%s/getMe", (TOKEN,), None
    )
    try:
        raise NetworkError(f"failed https://api/bot{TOKEN}/sendMessage")
    except NetworkError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactSecrets([TOKEN]).filter(record)
    assert TOKEN not in record.getMessage() and "[REDACTED]" in record.getMessage()
    assert TOKEN not in (record.exc_text or "") and "[REDACTED]" in record.exc_text
