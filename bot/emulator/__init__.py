"""Telegram Bot API emulator: tests, benchmarks and the local sandbox talk to it instead of Telegram."""

from bot.emulator.core import BotApiEmulator
from bot.emulator.errors import ApiError
from bot.emulator.limits import FloodLimits
from bot.emulator.request import EmulatorRequest
from bot.emulator.spec import validate_call
from bot.emulator.state import ReceivedMessage
from bot.emulator.users import EmulatedGroup, EmulatedUser

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "EmulatedGroup",
    "EmulatedUser",
    "EmulatorRequest",
    "FloodLimits",
    "ReceivedMessage",
    "validate_call",
]
