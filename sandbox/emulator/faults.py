"""Failures on demand: injected errors, random 5xx, timeouts (delivered or not), and slow answers."""

from __future__ import annotations

import random as _random
from dataclasses import dataclass, field

from sandbox.emulator.errors import ApiError

_DESCRIPTIONS = {
    400: "Bad Request: injected fault",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """One pending fault: fires on matching calls until ``count`` is used up."""

    error: int | str
    method: str | None = None
    chat_id: int | None = None
    count: int = 1
    retry_after: int = 1
    delivered: bool = False
    seconds: float = 0.0

    def matches(self, method: str, chat_id: int | None, message_producing: bool) -> bool:
        """True when this fault applies to the call (untargeted faults hit message-producing calls only)."""
        if self.method is None:
            # Otherwise a polling bot's next getUpdates would swallow a fault meant for a send.
            if not message_producing:
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass(frozen=True)
class FaultOutcome:
    """What the emulator must do for a faulted call."""

    error: ApiError | None  # None means a timeout (or, with `delay`, a slow success)
    delivered: bool = False  # for timeouts: perform the call before timing out
    delay: float = 0.0  # for "delay": wait this long, then perform the call as usual


def fault_error(error: int, retry_after: int = 1) -> ApiError:
    """The ApiError for an injected HTTP status."""
    text = _DESCRIPTIONS.get(error, f"Injected error {error}").format(retry_after=retry_after)
    return ApiError(error, text, retry_after=retry_after if error == 429 else None)


@dataclass
class Faults:
    """Registry of pending faults consulted on every call."""

    pending: list[Fault] = field(default_factory=list)
    rate: float = 0.0
    random_error: int | str = 502
    _rng: _random.Random = field(default_factory=lambda: _random.Random(0))

    def inject(
        self,
        error: int | str,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        count: int = 1,
        retry_after: int = 1,
        delivered: bool = False,
        seconds: float = 0.0,
    ) -> Fault:
        """Make the next ``count`` matching calls fail with ``error`` (an HTTP status, "timeout" or "delay").

        Without ``method`` only message-producing calls (send*, edit*, copy/forward) match.
        A timeout with ``delivered=True`` performs the call before timing out, as real timeouts sometimes do.
        A "delay" holds the call ``seconds`` (release_long_polls() cuts it short), then performs it; over
        HTTP, a call whose caller hung up meanwhile is dropped, as a request lost on the way would be.
        """
        if isinstance(error, str) and error not in ("timeout", "delay"):
            raise ValueError(f"unknown fault {error!r}: use an HTTP status, 'timeout' or 'delay'")
        if error == "delay" and seconds <= 0:
            raise ValueError("a 'delay' fault needs seconds > 0")
        fault = Fault(error, method, chat_id, count, retry_after, delivered, seconds)
        self.pending.append(fault)
        return fault

    def random(self, rate: float, error: int | str = 502, seed: int = 0) -> None:
        """Fail a ``rate`` fraction of message-producing calls, reproducibly from ``seed``."""
        self.rate = rate
        self.random_error = error
        self._rng = _random.Random(seed)

    def clear(self) -> None:
        """Drop every pending and random fault."""
        self.pending.clear()
        self.rate = 0.0

    def take(self, method: str, chat_id: int | None, message_producing: bool) -> FaultOutcome | None:
        """Consume and return the fault for this call, if any."""
        for fault in self.pending:
            if fault.matches(method, chat_id, message_producing):
                fault.count -= 1
                if fault.count <= 0:
                    self.pending.remove(fault)
                if fault.error == "delay":
                    return FaultOutcome(None, delay=fault.seconds)
                return self._outcome(fault.error, fault.retry_after, fault.delivered)
        if message_producing and self.rate > 0 and self._rng.random() < self.rate:
            return self._outcome(self.random_error, 1, False)
        return None

    @staticmethod
    def _outcome(error: int | str, retry_after: int, delivered: bool) -> FaultOutcome:
        """Turn a fault description into an outcome."""
        if error == "timeout":
            return FaultOutcome(None, delivered)
        return FaultOutcome(fault_error(int(error), retry_after))
