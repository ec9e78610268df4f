"""`liaison run` imports PTB without tornado (PTB's webhook server, never run); webhooks still work."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from bot.lean_imports import import_telegram_ext_without_tornado

import_telegram_ext_without_tornado()
assert "telegram.ext" in sys.modules
assert not any(name.partition(".")[0] == "tornado" for name in sys.modules), "tornado was imported"
from telegram.ext import Application, CallbackQueryHandler
from telegram.ext._updater import WEBHOOKS_AVAILABLE

assert not WEBHOOKS_AVAILABLE
# The bot's own webhook server (webhook mode) imports tornado itself afterwards.
import bot.inbox.webhook

assert "tornado.web" in sys.modules
print("ok")
"""


def test_ptb_is_imported_without_tornado_which_stays_importable_afterwards() -> None:
    """In a fresh interpreter, as `liaison run` starts (this test process has tornado loaded already)."""
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
