"""Telegram's flood limits: global per-second window, per-chat token bucket, per-group minute window."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.emulator.errors import ApiError


@dataclass
class FloodLimits:
    """Flood-control settings; disabled by default so ordinary tests never see a 429."""

    enabled: bool = False
    global_per_second: int = 30
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    group_per_minute: int = 20


def too_many_requests(retry_after: float) -> ApiError:
    """429 with an integer retry_after of at least one second, as Telegram sends it."""
    seconds = max(1, math.ceil(retry_after - 1e-9))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


@dataclass
class _Bucket:
    """Token bucket for one private chat."""

    tokens: float
    stamp: float


@dataclass
class FloodControl:
    """Tracks accepted message-producing calls and rejects the ones over the limits."""

    clock: Callable[[], float]
    limits: FloodLimits = field(default_factory=FloodLimits)
    _global: deque[float] = field(default_factory=deque)
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _groups: dict[int, deque[float]] = field(default_factory=dict)

    def check(self, chat_id: int | None, is_group: bool) -> ApiError | None:
        """Admit one call to ``chat_id`` (recording it) or return the 429 Telegram would send."""
        lim = self.limits
        if not lim.enabled:
            return None
        now = self.clock()
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        if len(self._global) >= lim.global_per_second:
            return too_many_requests(self._global[0] + 1.0 - now)
        if chat_id is not None and is_group:
            window = self._groups.setdefault(chat_id, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= lim.group_per_minute:
                return too_many_requests(window[0] + 60.0 - now)
            window.append(now)
        elif chat_id is not None:
            bucket = self._buckets.get(chat_id)
            if bucket is None:
                bucket = self._buckets[chat_id] = _Bucket(float(lim.per_chat_burst), now)
            bucket.tokens = min(
                float(lim.per_chat_burst), bucket.tokens + (now - bucket.stamp) * lim.per_chat_per_second
            )
            bucket.stamp = now
            if bucket.tokens < 1.0:
                return too_many_requests((1.0 - bucket.tokens) / lim.per_chat_per_second)
            bucket.tokens -= 1.0
        self._global.append(now)
        return None

    def reset(self) -> None:
        """Forget all recorded traffic."""
        self._global.clear()
        self._buckets.clear()
        self._groups.clear()
