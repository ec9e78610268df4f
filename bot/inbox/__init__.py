"""The durable inbox: updates are written to the database before Telegram is told they arrived, then handled
from there, each person's in order, once (see db/inbox.py and README "Intake")."""

from bot.inbox.dispatcher import CURRENT_ATTEMPT, Inbox, inbox_row, on_handler_error

__all__ = ["CURRENT_ATTEMPT", "Inbox", "inbox_row", "on_handler_error"]
