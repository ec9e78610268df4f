"""`liaison status`: what the admin should know at a glance, read from the database (no bot needed)."""

from __future__ import annotations

from datetime import datetime

from db import inbox
from db.engine import Database


def _moment(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value is not None else "never"


async def status_report(database: Database) -> str:
    """The inbox's state and every update set aside (newest first), as lines of text."""
    async with database.reading() as session:
        counts = await inbox.count_by_state(session)
        last = await inbox.last_received(session)
        aside = await inbox.list_set_aside(session, limit=50)
    lines = [
        f"Inbox: {counts['pending']} pending, {counts['handled']} handled (kept for the retention), "
        f"{counts['set_aside']} set aside; last update received: {_moment(last)}"
    ]
    if aside:
        lines.append("Updates set aside (their handler failed every time; the person's next ones went on):")
        for row in aside:
            lines.append(
                f"  update {row.update_id}: {row.kind} from Telegram user {row.person_id}, "
                f"received {_moment(row.received_at)}, set aside {_moment(row.handled_at)} "
                f"after {row.attempts} attempt(s): {row.error or '?'}"
            )
    else:
        lines.append("No update set aside.")
    return "\n".join(lines)
