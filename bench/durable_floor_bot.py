"""The least a bot on this stack must do to fan out an alert without losing it: the benchmark's floor.

Plain PTB (polling, updates handled concurrently) and SQLAlchemy Core over the same async drivers as
Liaison: on "/alert <text>" one transaction reads the author's post and its members and writes the alert
and one outbox row per copy; then the author's reply and the copies are sent, and the rows are marked sent
in a second transaction. No inbox, no audit, no escalation, no rendering, no pacing: what any durable
fan-out on PTB + SQLAlchemy costs at least, so that Liaison's alert intake can be set beside it.

    python bench/durable_floor_bot.py TOKEN API_URL DATABASE_URL   (the bench starts it; see --floor)
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

METADATA = MetaData()
MEMBERS = Table(
    "floor_members",
    METADATA,
    Column("telegram_id", Integer, primary_key=True),
    Column("chat_id", Integer, nullable=False),
    Column("post_code", String(32), nullable=False, index=True),
)
ALERTS = Table(
    "floor_alerts",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("author_id", Integer, nullable=False),
    Column("post_code", String(32), nullable=False),
    Column("text", String(4096), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
OUTBOX = Table(
    "floor_outbox",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, nullable=False, index=True),
    Column("chat_id", Integer, nullable=False),
    Column("text", String(4096), nullable=False),
    Column("status", String(16), nullable=False),
)


async def seed(url: str, members: list[tuple[int, str]]) -> None:
    """Create the floor's tables afresh and add the members (telegram id = chat id, post code)."""
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.drop_all)
        await connection.run_sync(METADATA.create_all)
        await connection.execute(
            insert(MEMBERS), [{"telegram_id": t, "chat_id": t, "post_code": p} for t, p in members]
        )
    await engine.dispose()


def handler(engine: AsyncEngine) -> Any:
    """The /alert handler: record durably, then send."""

    async def alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        assert message is not None and user is not None and message.text is not None
        text = message.text.partition(" ")[2]
        async with engine.begin() as connection:
            post = await connection.scalar(
                select(MEMBERS.c.post_code).where(MEMBERS.c.telegram_id == user.id)
            )
            chats = (
                await connection.scalars(
                    select(MEMBERS.c.chat_id).where(
                        MEMBERS.c.post_code == post, MEMBERS.c.telegram_id != user.id
                    )
                )
            ).all()
            alert_id = await connection.scalar(
                insert(ALERTS)
                .values(author_id=user.id, post_code=post, text=text, created_at=datetime.now(UTC))
                .returning(ALERTS.c.id)
            )
            copy = f"🚨 {text}"
            await connection.execute(
                insert(OUTBOX),
                [{"alert_id": alert_id, "chat_id": c, "text": copy, "status": "pending"} for c in chats],
            )
        await asyncio.gather(
            message.reply_text(f"Sent to {len(chats)}."),
            *(context.bot.send_message(chat, copy) for chat in chats),
        )
        async with engine.begin() as connection:
            await connection.execute(update_sent(alert_id))

    return alert


def update_sent(alert_id: int) -> Any:
    """Mark an alert's copies sent."""
    return update(OUTBOX).where(OUTBOX.c.alert_id == alert_id).values(status="sent")


def main(token: str, api_url: str, url: str) -> None:
    """Serve until killed."""
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
    engine = create_async_engine(url, **kwargs)
    app = ApplicationBuilder().token(token).base_url(api_url).concurrent_updates(16).build()
    app.add_handler(CommandHandler("alert", handler(engine)))
    app.run_polling(poll_interval=0.0, drop_pending_updates=False)


if __name__ == "__main__":
    main(*sys.argv[1:4])
