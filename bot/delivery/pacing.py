"""Telegram's flood limits kept in-process: a global rate, one bucket per private chat, a window per group.

Every limiter counts a send from the moment it starts and refills only from the moment it is answered: the
server sees a request somewhere in between, so whatever arrival order the network produces, the server never
counts more than we did (no 429 from our own pacing).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.config import DeliveryConfig

# Windows are held a millisecond longer than Telegram's so float rounding at the edge never costs a 429.
EDGE = 0.001


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative chat ids."""
    return chat_id < 0


@dataclass
class GlobalLimiter:
    """About `rate` sends per second overall (any one-second window), slowed or paused when Telegram says so.

    Sends are spread out (bursts of a third of a second's worth) so that an urgent row never waits long for a
    free slot. A 429 we did not expect first slows everyone down; another one while slowed stops every send
    for the retry_after Telegram gave (it then clearly means the whole bot: another instance sharing the
    token, say).
    """

    rate: float
    clock: Clock
    burst: float = 0.0  # 0: a third of a second's worth
    slow_factor: float = 2 / 3
    _tokens: float = 0.0
    _stamp: float | None = None
    _in_flight: int = 0
    _answered: deque[float] = field(default_factory=deque)
    paused_until: float = 0.0
    slow_until: float = 0.0

    def __post_init__(self) -> None:
        self.burst = max(1.0, min(self.burst or self.rate / 3, self.rate))

    def _rate(self, now: float) -> float:
        return self.rate * self.slow_factor if now < self.slow_until else self.rate

    def _refill(self, now: float) -> None:
        if self._stamp is None:
            self._tokens, self._stamp = self.burst, now
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self._rate(now))
        self._stamp = now
        while self._answered and self._answered[0] + 1.0 + EDGE <= now:
            self._answered.popleft()

    def ready_at(self) -> float:
        """Monotonic time at which the next send may start (now or later)."""
        now = self.clock.monotonic()
        self._refill(now)
        at = max(now, self.paused_until)
        if self._tokens < 1.0:
            at = max(at, now + (1.0 - self._tokens) / self._rate(now))
        capacity = max(1, math.floor(self.rate))
        used = len(self._answered) + self._in_flight
        if used >= capacity:
            # The oldest answers leave the one-second window first; in-flight sends must be answered first.
            index = used - capacity
            at = max(at, self._answered[index] + 1.0 + EDGE) if index < len(self._answered) else math.inf
        return at

    def start(self) -> None:
        """Count one send as started."""
        now = self.clock.monotonic()
        self._refill(now)
        self._tokens -= 1.0
        self._in_flight += 1

    def note(self) -> None:
        """Count a send made outside the worker (a handler's reply, a command list set at start): it used
        the same budget, at Telegram's end."""
        now = self.clock.monotonic()
        self._refill(now)
        self._tokens -= 1.0
        self._answered.append(now)

    def finish(self) -> None:
        """Count one send as answered (or abandoned)."""
        self._in_flight = max(0, self._in_flight - 1)
        self._answered.append(self.clock.monotonic())

    def flood(self, retry_after: float, *, chat_id: int | None = None, chat_recent: int = 0) -> bool | None:
        """Telegram answered 429 to a send to `chat_id`, which had `chat_recent` sends within its window.

        A 429 to a chat that had other sends within its window is that chat's own limit: only the chat waits
        (None is returned; the caller penalises the chat), however many chats it happens to. A 429 to a chat
        we had left alone can only mean the whole bot (another process on the token, say): everyone slows
        down for `retry_after`, or stops for it if already slowed. Returns True when every send is paused.
        """
        if chat_id is not None and chat_recent > 1:
            return None
        now = self.clock.monotonic()
        self._refill(now)
        seconds = max(retry_after, 1.0)
        if now < self.slow_until:
            self.pause(retry_after)
            self.slow_until = max(self.slow_until, self.paused_until + seconds)
            return True
        self.slow_until = now + seconds
        return False

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds`."""
        self.paused_until = max(self.paused_until, self.clock.monotonic() + seconds)

    def set_rate(self, rate: float) -> None:
        """Keep to another rate from now on (this process's share of a budget shared with others)."""
        if rate == self.rate:
            return
        now = self.clock.monotonic()
        self._refill(now)
        self.rate = rate
        self.burst = max(1.0, rate / 3)
        self._tokens = min(self._tokens, self.burst)


@dataclass
class _Chat:
    """Pacing state of one chat: when its recent sends were answered (or, while in flight, that one is)."""

    busy: bool = False
    answered: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


@dataclass
class ChatPacer:
    """Per private chat: at most `burst` sends in any `burst / per_second` seconds; per group: at most
    `group_per_minute` in any minute.

    A sliding window, not a token bucket: a bucket (1/s, bursts of 3) lets a fourth message into the second
    after a burst, which Telegram may answer with a 429. A window is never looser than the bucket it stands
    for, and the sustained rate is the same. Sends are counted from their start and leave the window a full
    window after their answer (see the module docstring).
    """

    clock: Clock
    per_second: float
    burst: int
    group_per_minute: float
    _chats: dict[int, _Chat] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: DeliveryConfig, clock: Clock) -> ChatPacer:
        """A pacer with the configured limits."""
        return cls(clock, config.per_chat_per_second, config.per_chat_burst, config.group_per_minute)

    def _limits(self, chat_id: int) -> tuple[int, float]:
        """(sends allowed, window in seconds) for this chat."""
        if is_group(chat_id):
            return max(1, math.floor(self.group_per_minute)), 60.0
        return max(1, self.burst), max(1, self.burst) / self.per_second

    def _state(self, chat_id: int, now: float) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
        _limit, window = self._limits(chat_id)
        while chat.answered and chat.answered[0] + window + EDGE <= now:
            chat.answered.popleft()
        return chat

    def busy(self, chat_id: int) -> bool:
        """True while a send to this chat is in flight (one at a time keeps a chat's messages in order)."""
        chat = self._chats.get(chat_id)
        return chat is not None and chat.busy

    def recent(self, chat_id: int) -> int:
        """Sends to this chat within its window (the one in flight included)."""
        chat = self._state(chat_id, self.clock.monotonic())
        return len(chat.answered) + (1 if chat.busy else 0)

    def ready_at(self, chat_id: int, queued: int = 0) -> float:
        """Monotonic time at which this chat could take a send after `queued` more ones (busy counts too)."""
        now = self.clock.monotonic()
        chat = self._state(chat_id, now)
        limit, window = self._limits(chat_id)
        need = queued + (1 if chat.busy else 0)
        used = len(chat.answered) + need
        at = max(now, chat.blocked_until)
        if used < limit:
            return at
        index = used - limit
        if index < len(chat.answered):
            return max(at, chat.answered[index] + window + EDGE)
        # Sends not started yet: each full window of them pushes the estimate one window further.
        return max(at, now + window * (1 + (index - len(chat.answered)) // limit) + EDGE)

    def start(self, chat_id: int) -> None:
        """Count one send to this chat as started."""
        chat = self._state(chat_id, self.clock.monotonic())
        chat.busy = True

    def finish(self, chat_id: int) -> None:
        """Count the send to this chat as answered."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return
        chat.busy = False
        chat.answered.append(self.clock.monotonic())

    def penalise(self, chat_id: int, seconds: float) -> None:
        """After a 429 for this chat: nothing more to it for `seconds` (other chats go on)."""
        now = self.clock.monotonic()
        chat = self._state(chat_id, now)
        chat.blocked_until = max(chat.blocked_until, now + seconds)

    def forget_idle(self) -> None:
        """Drop chats whose state is back to fresh (keeps memory flat over months)."""
        now = self.clock.monotonic()
        for chat_id in list(self._chats):
            chat = self._state(chat_id, now)
            if not chat.busy and not chat.answered and chat.blocked_until <= now:
                del self._chats[chat_id]
