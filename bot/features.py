"""What a feature declares once, and the checks the factory makes before installing the list of features.

A feature is a package `handlers/<name>/` whose `__init__.py` holds one `Feature`: its commands (with their
menu entries and who may use them), the callback prefix of its buttons, the conversations whose typed input
it owns, its scheduled-job runners and its hooks. `bot/app.py` installs the list in `handlers/__init__.py`;
that is the only place where anything is registered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler

from bot.access import Action, can
from bot.callbacks import CallbackData
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.config import Config
    from bot.i18n import Translator
    from bot.runtime import LiaisonContext, Runtime
    from bot.scheduler.runners import Runner
    from db.audit import AuditEntry
    from db.drafts import Draft
    from db.members import Member

UpdateCallback = Callable[["Update", "LiaisonContext"], Coroutine[Any, Any, None]]
ButtonCallback = Callable[["Update", "LiaisonContext", CallbackData], Coroutine[Any, Any, None]]
# A conversation's typed-input handler: False when the message is not for it (it then goes on to the others).
InputCallback = Callable[["Update", "LiaisonContext", "Draft"], Awaitable[bool | None]]
# Told when another conversation takes the focus from one of its drafts (to drop it and say so, or keep it).
LeftCallback = Callable[["Update", "LiaisonContext", "Draft"], Awaitable[None]]
StartHook = Callable[[AsyncSession, "Runtime"], Awaitable[None]]
MemberHook = Callable[[AsyncSession, "Runtime", "Member"], Awaitable[None]]

# One audit entry as a line of the review log, in the reader's language (plain text, not yet escaped).
LogSummary = Callable[["AuditEntry", "Translator", "Runtime"], str]
# One audit entry's object in full for a reader (HTML, escaped), or None when there is nothing more to show.
LogDetail = Callable[[AsyncSession, "Runtime", "AuditEntry", "Translator", "Member"], Awaitable[str | None]]
# A command-line verb's work, given the wired runtime and the parsed arguments (bot/cli.py declares the verb).
CliRunner = Callable[["Runtime", Any], Awaitable[int]]
# Whether an entry of the kind's actions belongs to the kind (delivery: only the deliveries that failed).
LogFilter = Callable[["AuditEntry"], bool]

CALLBACK_PREFIX_PATTERN = r"^[a-z]{2,4}$"
DEFAULT_DRAFT_TTL = timedelta(hours=12)


class MemberEvent(StrEnum):
    """Things that happen to a member that other features may act on, in the transaction that records them."""

    # Joined a post through an invite (notices in force reach them, for example).
    JOINED = "joined"
    # Talks to the bot again after blocking it (the open urgent alerts of their post reach them).
    RETURNED = "returned"


@dataclass(frozen=True)
class Command:
    """A slash command: its menu entry (translated in the catalogs) and the action it needs."""

    name: str
    # Untranslated, marked with N_(): the menu entry and the /help line, in the reader's language.
    description: str
    callback: UpdateCallback
    # Who may use it and sees it in their menu and /help (bot/access.py decides); None: whoever the gate lets
    # through (/start with an invite code reaches strangers).
    action: Action | None = Action.USE
    aliases: tuple[str, ...] = ()
    # False for a command people never type from the menu (/start: Telegram's own Start button sends it).
    in_menu: bool = True
    # True when a button may open it ("go:<command>" on a reminder, say): its callback then reads nothing
    # from the message text.
    openable: bool = False
    # What a person who may not use it is told (a command typed by hand that is not in their menu).
    refusal: str = N_("You are not allowed to do this.")
    # A rule that also reads config.yaml (the roles a post opens a command to), checked after `action`;
    # the menu, /help and the command itself follow it (bot/access.py holds the rule).
    allowed: Callable[[Member, Config], bool] | None = None
    # Members a reminder that opens this command need not reach when it falls due (their part is done: a
    # service that sent its handover for that shift change), read in the reminder's transaction.
    done_for: Callable[[AsyncSession, Runtime, str | None, datetime], Awaitable[set[int]]] | None = None


@dataclass(frozen=True)
class TextTrigger:
    """A reply-keyboard button (a fixed text) that starts something, like the persistent "🚨 Alert" button."""

    texts: frozenset[str]
    callback: UpdateCallback


@dataclass(frozen=True)
class Conversation:
    """A multi-step exchange kept in a database draft; the router hands it the member's typed messages."""

    flow: str
    on_input: InputCallback
    # How long an untouched draft stays valid; past it the draft takes nothing more and is pruned.
    ttl: timedelta = DEFAULT_DRAFT_TTL
    # What /cancel answers when this conversation has the focus.
    cancelled: str = N_("Cancelled.")
    # Steps that wait for typed input. When another conversation takes the focus from a draft at one of these
    # steps, the draft is dropped (its next words would go astray) and the member is told, as for /cancel;
    # a draft waiting for a button keeps its place and its buttons still work.
    typed_steps: frozenset[str] = frozenset()
    # Overrides what happens when another conversation takes the focus (to keep a long draft resumable).
    on_left: LeftCallback | None = None
    # Replaces the plain `cancelled` answer (to bring a keyboard back, for example).
    on_cancel: UpdateCallback | None = None
    # Told when a fresh start replaced the member's draft of this flow (its buttons are cleared already).
    on_replaced: LeftCallback | None = None


@dataclass(frozen=True)
class LogKind:
    """How the review log (/log, exports, digests) shows one kind of a feature's audit entries."""

    # Short stable key used in filters and exports ("alerts", "handovers"...).
    key: str
    # Untranslated name of the kind, for the filter buttons and the export's sheet names.
    label: str
    # Audit actions of this kind, by prefix ("alert." takes alert.raised, alert.seen...).
    action_prefixes: tuple[str, ...]
    summary: LogSummary | None = None
    detail: LogDetail | None = None
    # Keeps only some entries of these actions (None: all of them).
    only: LogFilter | None = None
    # The entries' service is that of the member they are about (John suspended), not the actor's: the list
    # leaves it out of the line's head, where it read as the actor's ("Claire · National Police"), and the
    # summary names it.
    service_of_subject: bool = False

    def takes(self, entry: AuditEntry) -> bool:
        """Whether an entry belongs to this kind."""
        return entry.action.startswith(self.action_prefixes) and (self.only is None or self.only(entry))


@dataclass(frozen=True)
class Feature:
    """One feature of the bot, declared once in `handlers/<name>/__init__.py`."""

    name: str
    commands: tuple[Command, ...] = ()
    # Every button of the feature carries this prefix ("al:ack:17"); on_button receives the parsed data.
    callback_prefix: str | None = None
    on_button: ButtonCallback | None = None
    text_triggers: tuple[TextTrigger, ...] = ()
    conversations: tuple[Conversation, ...] = ()
    # Scheduled-job runners by kind (the scheduler runs rows of that kind with them).
    runners: Mapping[str, Runner] = field(default_factory=dict)
    # What each runner kind is called in the log ("a reminder", untranslated): every kind needs one.
    job_labels: Mapping[str, str] = field(default_factory=dict)
    # Called in the transaction that records a member event.
    member_hooks: Mapping[MemberEvent, MemberHook] = field(default_factory=dict)
    # Called once at start-up, in a transaction, after migrations (sync config into rows, for example).
    on_start: StartHook | None = None
    # How its audit entries read in the review log.
    log_kinds: tuple[LogKind, ...] = ()
    # What its notifications are called (outbox ref_type -> untranslated name), for /delivery.
    labels: Mapping[str, str] = field(default_factory=dict)
    # What the command line's verbs do (verb -> runner): bot/cli.py declares the verb and its arguments and
    # runs it on a runtime built by the factory, so the command line imports no feature.
    cli: Mapping[str, CliRunner] = field(default_factory=dict)
    # Anything else PTB should route to the feature, installed in the features' handler group.
    handlers: tuple[BaseHandler[Any, Any, Any], ...] = ()


class FeatureConflict(Exception):
    """The list of features cannot be installed (a duplicate prefix, an untranslated menu entry...)."""


def check_features(features: tuple[Feature, ...], translated: Callable[[str], bool]) -> None:
    """Refuse what would make the bot misroute or speak English to French readers; one clear message."""
    import re

    seen: dict[str, dict[str, str]] = {
        "feature": {},
        "callback prefix": {},
        "command": {},
        "conversation": {},
        "runner kind": {},
        "button text": {},
        "log kind": {},
        "command-line verb": {},
    }

    def claim(kind: str, value: str, owner: str) -> None:
        if value in seen[kind]:
            raise FeatureConflict(
                f"{kind} {value!r} is claimed by both {seen[kind][value]!r} and {owner!r}: it must be unique"
            )
        seen[kind][value] = owner

    for feature in features:
        claim("feature", feature.name, feature.name)
        if feature.callback_prefix is not None:
            if not re.match(CALLBACK_PREFIX_PATTERN, feature.callback_prefix):
                raise FeatureConflict(
                    f"feature {feature.name!r}: callback prefix {feature.callback_prefix!r} must be 2 to 4 "
                    "lower-case letters"
                )
            if feature.on_button is None:
                raise FeatureConflict(f"feature {feature.name!r}: a callback prefix needs on_button")
            claim("callback prefix", feature.callback_prefix, feature.name)
        elif feature.on_button is not None:
            raise FeatureConflict(f"feature {feature.name!r}: on_button needs a callback prefix")
        for command in feature.commands:
            for name in (command.name, *command.aliases):
                claim("command", name, feature.name)
            if not command.in_menu:
                continue
            if not command.description.strip():
                raise FeatureConflict(f"feature {feature.name!r}: command /{command.name} has no menu entry")
            if not translated(command.description):
                raise FeatureConflict(
                    f"feature {feature.name!r}: the menu entry of /{command.name} ({command.description!r}) "
                    "has no French translation (run: liaison i18n update, then translate it)"
                )
        for conversation in feature.conversations:
            claim("conversation", conversation.flow, feature.name)
        for log_kind in feature.log_kinds:
            claim("log kind", log_kind.key, feature.name)
            if not translated(log_kind.label):
                raise FeatureConflict(
                    f"feature {feature.name!r}: log kind {log_kind.key!r} ({log_kind.label!r}) has no French "
                    "translation (run: liaison i18n update, then translate it)"
                )
        for kind in feature.runners:
            claim("runner kind", kind, feature.name)
            label = feature.job_labels.get(kind)
            if label is None or not translated(label):
                raise FeatureConflict(
                    f"feature {feature.name!r}: scheduled kind {kind!r} needs a job label with a French "
                    "translation (job_labels; then liaison i18n update and translate it)"
                )
        for verb in feature.cli:
            claim("command-line verb", verb, feature.name)
        for trigger in feature.text_triggers:
            for text in trigger.texts:
                claim("button text", text, feature.name)


@dataclass(frozen=True)
class FeatureSet:
    """The installed features, as the runtime consults them (menus, the input router, member events)."""

    features: tuple[Feature, ...]
    # The configuration commands' `allowed` rules read (None: those rules refuse).
    config: Config | None = None

    def may_use(self, member: Member | None, command: Command) -> bool:
        """Whether `member` may use `command`: its action (bot/access.py), then its config-dependent rule."""
        if command.action is not None and not can(member, command.action):
            return False
        if command.allowed is None:
            return True
        return member is not None and self.config is not None and command.allowed(member, self.config)

    @property
    def commands(self) -> tuple[Command, ...]:
        """Every command, in menu order (features in installation order)."""
        return tuple(command for feature in self.features for command in feature.commands)

    def command(self, name: str) -> Command | None:
        """The command with this name (or alias)."""
        return next((c for c in self.commands if name in (c.name, *c.aliases)), None)

    def conversation(self, flow: str) -> Conversation | None:
        """The conversation that owns drafts of `flow`."""
        for feature in self.features:
            for conversation in feature.conversations:
                if conversation.flow == flow:
                    return conversation
        return None

    @property
    def trigger_texts(self) -> frozenset[str]:
        """Every reply-keyboard text that starts something (never taken as a draft's input)."""
        return frozenset(text for f in self.features for t in f.text_triggers for text in t.texts)

    @property
    def log_kinds(self) -> tuple[LogKind, ...]:
        """Every kind of audit entry the features describe, in feature order."""
        return tuple(kind for feature in self.features for kind in feature.log_kinds)

    def cli(self, verb: str) -> CliRunner | None:
        """The feature runner of a command-line verb."""
        return next((f.cli[verb] for f in self.features if verb in f.cli), None)

    def job_label(self, kind: str) -> str | None:
        """What a scheduled kind is called (untranslated), or None for a kind no feature runs."""
        for feature in self.features:
            if kind in feature.job_labels:
                return feature.job_labels[kind]
        return None

    def label(self, ref_type: str) -> str | None:
        """The untranslated name of a kind of notification, as its feature calls it."""
        for feature in self.features:
            if ref_type in feature.labels:
                return feature.labels[ref_type]
        return None

    async def emit(self, session: AsyncSession, runtime: Runtime, event: MemberEvent, member: Member) -> None:
        """Run every feature's hook for a member event, in the caller's transaction."""
        for feature in self.features:
            hook = feature.member_hooks.get(event)
            if hook is not None:
                await hook(session, runtime, member)
