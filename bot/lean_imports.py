"""What `liaison run` keeps out of its memory: PTB's own webhook server.

python-telegram-bot imports tornado (its webhook server) whenever tornado is installed, which it is here
(the emulator, and the bot's own webhook, bot/inbox/webhook.py): about 3 MiB resident with what tornado
pulls in (curses, multiprocessing, http.cookies). The bot never runs PTB's Updater, by polling or by
webhook (bot/inbox/serve.py replaces both), so telegram.ext is imported with tornado hidden; webhook mode
imports tornado itself afterwards, for its own server.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

HIDDEN = frozenset({"tornado"})


class _Hidden(importlib.abc.MetaPathFinder):
    """Refuses the hidden packages, as if they were not installed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """Refuse a hidden package and its modules; leave every other import to the next finder."""
        if fullname.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"{fullname} is left out of `liaison run`", name=fullname)
        return None


def import_telegram_ext_without_tornado() -> None:
    """Import telegram.ext with tornado hidden (PTB then marks its own webhook server unavailable)."""
    if "telegram.ext" in sys.modules or any(name in sys.modules for name in HIDDEN):
        return  # already imported (tests, the sandbox): nothing left to save
    hidden = _Hidden()
    sys.meta_path.insert(0, hidden)
    try:
        import telegram.ext  # noqa: F401  (imported here, once, for its side effect on sys.modules)
    finally:
        sys.meta_path.remove(hidden)
