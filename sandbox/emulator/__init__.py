"""Telegram Bot API emulator: tests, benchmarks and the local sandbox talk to it instead of Telegram."""

from sandbox.emulator.core import BotApiEmulator
from sandbox.emulator.errors import ApiError
from sandbox.emulator.events import EmulatorEvent, EventHub
from sandbox.emulator.limits import FloodLimits
from sandbox.emulator.request import EmulatorRequest
from sandbox.emulator.spec import validate_call
from sandbox.emulator.state import ReceivedMessage
from sandbox.emulator.users import EmulatedGroup, EmulatedUser

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "EmulatedGroup",
    "EmulatedUser",
    "EmulatorEvent",
    "EmulatorRequest",
    "EventHub",
    "FloodLimits",
    "ReceivedMessage",
    "validate_call",
]
