"""Load config.yaml into frozen, validated objects; report a bad file on one line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

LANGUAGES = ("fr", "en")
Language = Literal["fr", "en"]
Role = Literal["agent", "chief", "coordinator", "admin"]
Priority = Literal["urgent", "high", "normal", "bulk"]
# Where the configuration is looked for when neither --config nor LIAISON_CONFIG says: the working directory,
# the checkout, then the default an installed wheel carries (copied there by setup.py).
CONFIG_CANDIDATES = (
    Path("config.yaml"),
    Path(__file__).resolve().parent.parent / "config.yaml",
    Path(__file__).resolve().parent / "_data" / "config.yaml",
)


def default_config_path() -> Path:
    """The first configuration file that exists among the usual places."""
    return next((p for p in CONFIG_CANDIDATES if p.is_file()), CONFIG_CANDIDATES[-1])


DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///liaison.db"


class ConfigError(Exception):
    """A configuration problem, already phrased as 'file: field: reason'."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalizedText(_Frozen):
    """A text given in both languages."""

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: str) -> str:
        """Return the text in `language`, French when unknown."""
        return self.en if language == "en" else self.fr


class ServiceConfig(_Frozen):
    """One service (agency) that works at posts."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,23}$")
    name: LocalizedText


class PostConfig(_Frozen):
    """One border post."""

    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,23}$")
    name: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    language: Language = "fr"
    services: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The post's time zone object."""
        return ZoneInfo(self.timezone)


class BotConfig(_Frozen):
    """Process-wide settings."""

    default_language: Language = "fr"
    database_url: str = DEFAULT_DATABASE_URL
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class InviteConfig(_Frozen):
    """How invites behave."""

    ttl_hours: float = Field(default=72, gt=0, le=24 * 30)


class DeliveryConfig(_Frozen):
    """Telegram's limits and the delivery worker's retry policy."""

    global_per_second: float = Field(default=30, gt=0)
    per_chat_per_second: float = Field(default=1, gt=0)
    per_chat_burst: int = Field(default=3, ge=1)
    group_per_minute: float = Field(default=20, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_seconds: float = Field(default=1, gt=0)
    backoff_max_seconds: float = Field(default=300, gt=0)
    lease_seconds: float = Field(default=60, gt=0)
    sweep_seconds: float = Field(default=5, gt=0)
    concurrency: int = Field(default=16, ge=1, le=100)


class SchedulerConfig(_Frozen):
    """How the scheduler treats work that fell due while the bot was down."""

    grace_seconds: Mapping[str, float] = Field(default_factory=lambda: {"default": 3600})
    sweep_seconds: float = Field(default=30, gt=0)
    # A run this many seconds after its due time says so in the message ("sent late").
    late_after_seconds: float = Field(default=60, ge=0)
    batch_size: int = Field(default=50, ge=1, le=1000)
    max_failures: int = Field(default=5, ge=1)

    def grace_for(self, kind: str) -> float:
        """Grace period in seconds for one kind of scheduled work."""
        return float(self.grace_seconds.get(kind, self.grace_seconds.get("default", 3600)))


class Audience(_Frozen):
    """Who receives a reminder: the whole post, one service, or one role."""

    service: str | None = None
    role: Role | None = None


class ReminderConfig(_Frozen):
    """A recurring coordination reminder declared in config.yaml."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,40}$")
    # "all", a list of post codes, or [] for a reminder tied to no post (coordinators only, needs `timezone`).
    posts: tuple[str, ...] | Literal["all"] = "all"
    cron: str
    # Zone the cron is read in; default: each post's own zone.
    timezone: str | None = None
    audience: Audience = Audience()
    text: LocalizedText
    priority: Priority = "normal"
    # A command the reminder opens with one tap ("handover": a "go:handover" button under the text); the
    # command must be declared openable by its feature.
    opens: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{1,31}$")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _postless_needs_zone(self) -> ReminderConfig:
        if self.posts == ():
            if self.timezone is None:
                raise ValueError("a reminder tied to no post needs a timezone")
            if self.audience.role not in ("coordinator", "admin"):
                raise ValueError("a reminder tied to no post must go to role coordinator")
        return self


class AlertCategory(_Frozen):
    """One kind of alert and who must acknowledge it."""

    @field_validator("keyword")
    @classmethod
    def _one_word(cls, value: LocalizedText | None) -> LocalizedText | None:
        if value is not None and (len(value.fr.split()) != 1 or len(value.en.split()) != 1):
            raise ValueError("a keyword is one word in each language")
        return value

    def word(self, language: str) -> str:
        """The word a reader of `language` types for this category."""
        return self.keyword.get(language) if self.keyword is not None else self.code

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,23}$")
    name: LocalizedText
    # One word per language for the one-line form ("/alert urgent santé: ..."); the code when not given.
    keyword: LocalizedText | None = None
    cross_border: bool = False
    # Services that must acknowledge; empty means every service present at the post.
    required_services: tuple[str, ...] = ()


class EscalationStep(_Frozen):
    """After `after_minutes` without acknowledgement, notify these audiences."""

    after_minutes: float = Field(gt=0)
    notify: tuple[Literal["service", "chief", "coordinators"], ...] = Field(min_length=1)


class AlertsConfig(_Frozen):
    """Alert categories and the escalation ladder per severity."""

    max_text_length: int = Field(default=1000, ge=10, le=3000)
    categories: tuple[AlertCategory, ...] = ()
    escalation: Mapping[Literal["info", "important", "urgent"], tuple[EscalationStep, ...]] = Field(
        default_factory=dict
    )

    def ladder(self, severity: str) -> tuple[EscalationStep, ...]:
        """The escalation steps of a severity (none when it has no ladder)."""
        return next((tuple(steps) for key, steps in self.escalation.items() if key == severity), ())

    @model_validator(mode="after")
    def _ladders_climb(self) -> AlertsConfig:
        codes = [c.code for c in self.categories]
        if len(set(codes)) != len(codes):
            raise ValueError("categories: duplicate category code")
        for severity, ladder in self.escalation.items():
            delays = [step.after_minutes for step in ladder]
            if delays != sorted(set(delays)):
                raise ValueError(f"escalation.{severity}: each step must come later than the one before")
        return self


class ShiftConfig(_Frozen):
    """Shift change hours (local time, in each post's zone) that handovers are written for."""

    changes: tuple[time, ...] = Field(default=(time(7, 0), time(19, 0)), min_length=1)
    # A post whose shifts change at other hours: post code -> its own change hours.
    posts: Mapping[str, tuple[time, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _distinct_hours(self) -> ShiftConfig:
        for where, hours in (("changes", self.changes), *((f"posts.{k}", v) for k, v in self.posts.items())):
            if not hours:
                raise ValueError(f"{where}: at least one shift change hour")
            if len({(h.hour, h.minute) for h in hours}) != len(hours):
                raise ValueError(f"{where}: the same hour twice")
            if any(h.second or h.microsecond for h in hours):
                raise ValueError(f"{where}: shift changes are given as HH:MM")
        return self

    def changes_for(self, post_code: str) -> tuple[time, ...]:
        """The post's shift change hours (its override, else the default), earliest first."""
        return tuple(sorted(self.posts.get(post_code) or self.changes))


class ChecklistEntry(_Frozen):
    """One thing the outgoing agent confirms at a handover (keys, radio, register...)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")
    label: LocalizedText


class HandoverServiceConfig(_Frozen):
    """One service's handover: its checklist and who at the post reads it."""

    checklist: tuple[ChecklistEntry, ...] = ()
    # "service": the service's members and the post's chiefs; "post": every member of the post. None: the
    # default of the handovers section.
    readers: Literal["service", "post"] | None = None

    @model_validator(mode="after")
    def _distinct_codes(self) -> HandoverServiceConfig:
        codes = [entry.code for entry in self.checklist]
        if len(set(codes)) != len(codes):
            raise ValueError("checklist: duplicate code")
        return self


class HandoversConfig(_Frozen):
    """Shift handovers: when silence is reported to the chiefs, checklists, readers, and size limits."""

    # A handover nobody accepted this many minutes after the shift change is escalated to the chiefs.
    escalate_after_minutes: int = Field(default=30, ge=1, le=720)
    # A service with agents at the post that wrote nothing this many minutes after the change is reported.
    missing_after_minutes: int = Field(default=15, ge=1, le=720)
    readers: Literal["service", "post"] = "service"
    max_items: int = Field(default=50, ge=1, le=200)
    max_item_length: int = Field(default=500, ge=20, le=3000)
    max_remarks_length: int = Field(default=4000, ge=20, le=4000)
    services: Mapping[str, HandoverServiceConfig] = Field(default_factory=dict)

    def checklist(self, service_code: str | None) -> tuple[ChecklistEntry, ...]:
        """A service's checklist (empty when it has none)."""
        found = self.services.get(service_code or "")
        return found.checklist if found is not None else ()

    def readers_of(self, service_code: str | None) -> str:
        """Who at the post reads this service's handovers: "service" or "post"."""
        found = self.services.get(service_code or "")
        return (found.readers if found is not None else None) or self.readers


class InboxConfig(_Frozen):
    """The durable inbox: how long handled updates are kept, when a failing one is set aside."""

    # Telegram resends an unconfirmed update for up to 24 hours: keep handled ones at least that long, so a
    # late duplicate is recognised and not handled twice.
    retention_hours: float = Field(default=48, ge=24)
    # Attempts (a crash while handling counts as one) before an update is set aside for the admin.
    max_attempts: int = Field(default=5, ge=1, le=100)
    # People whose updates are handled at once (each person's own updates one at a time, in order).
    concurrency: int = Field(default=32, ge=1, le=1000)
    # How long an instance holds an update it is handling (renewed while the handler runs).
    lease_seconds: float = Field(default=60, gt=0)
    sweep_seconds: float = Field(default=30, gt=0)


class MeetingsConfig(_Frozen):
    """Meeting minutes: who writes them, when action items are reminded, and the limits of the input."""

    # Roles that may write minutes (/meeting) at their post; coordinators (and admins) write for any post.
    writers: tuple[Role, ...] = ("chief", "coordinator")
    # Action items are reminded the day before and on the due day at this time (post time), and reported
    # overdue the day after, again every `overdue_every_days` days (0: once) until done.
    reminder_time: time = time(9, 0)
    overdue_every_days: int = Field(default=7, ge=0, le=60)
    # The next meeting's reminder goes out this long before it.
    next_meeting_notice_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    max_title_chars: int = Field(default=120, ge=10, le=300)
    # The notes in all (split at paragraph boundaries into several messages when longer than one).
    max_notes_chars: int = Field(default=20000, ge=100, le=60000)
    max_decisions: int = Field(default=30, ge=1, le=100)
    max_decision_chars: int = Field(default=500, ge=20, le=2000)
    max_actions: int = Field(default=30, ge=1, le=100)
    max_action_chars: int = Field(default=300, ge=20, le=1000)
    max_progress_note_chars: int = Field(default=1000, ge=20, le=3000)
    max_addendum_chars: int = Field(default=3000, ge=20, le=3500)
    # How far back minutes may be dated (a meeting written up late).
    max_days_back: int = Field(default=60, ge=0, le=366)


class NoticesConfig(_Frozen):
    """Notices: reminders to those who have not confirmed, how often the sender's card moves, validity."""

    # An automatic reminder to the non-readers this long after sending (0: none); never after expiry.
    auto_remind_after_minutes: float = Field(default=120, ge=0)
    # "Remind them" reaches the non-readers at most once per interval (automatic reminders included).
    remind_interval_minutes: float = Field(default=60, gt=0)
    # The sender's card is edited at most once per this many seconds, whatever the rate of confirmations.
    card_edit_seconds: float = Field(default=5, ge=1, le=300)
    # A notice sent without an expiry date stays in force this long (pinned, listed, sent to newcomers).
    default_validity_days: float = Field(default=30, gt=0, le=365)
    # Notices shown by /notices (the newest in force; unread first).
    list_size: int = Field(default=8, ge=1, le=20)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class WeeklyDigest(_Frozen):
    """When the weekly digest goes out (in each coordinator's zone): the day and the time."""

    day: Weekday = "mon"
    at: time = time(7, 0)


class DailyDigest(_Frozen):
    """When the daily digest goes out, if at all."""

    at: time = time(7, 0)


class DigestConfig(_Frozen):
    """The periodic digests sent to coordinators (null turns one off)."""

    weekly: WeeklyDigest | None = WeeklyDigest()
    daily: DailyDigest | None = None


_SEPARATORS: Mapping[Language, str] = {"fr": ";", "en": ","}


class ReviewConfig(_Frozen):
    """The review log (/log), its exports and the coordinators' digests."""

    # Coordinators' zone: periods over several posts, digest times and weeks (a post's own zone otherwise).
    timezone: str = "UTC"
    # CSV separator per reader's language: French spreadsheets expect ";" (the comma is the decimal mark).
    csv_separator: Mapping[Language, str] = Field(default_factory=lambda: _SEPARATORS)
    page_size: int = Field(default=10, ge=3, le=20)
    # The longest window a typed period may span, and how far back it may start.
    max_days: int = Field(default=366, ge=1, le=3660)
    digest: DigestConfig = DigestConfig()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("csv_separator")
    @classmethod
    def _one_character(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        for language, separator in value.items():
            if len(separator) != 1 or separator in '"\r\n':
                raise ValueError(f"{language}: a separator is one character other than a quote or a newline")
        return value

    def separator(self, language: str) -> str:
        """The CSV separator for a reader's language."""
        return next(
            (v for k, v in self.csv_separator.items() if k == language), ";" if language == "fr" else ","
        )


class Config(_Frozen):
    """The whole validated configuration."""

    bot: BotConfig = BotConfig()
    invites: InviteConfig = InviteConfig()
    services: tuple[ServiceConfig, ...]
    posts: tuple[PostConfig, ...]
    delivery: DeliveryConfig = DeliveryConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    reminders: tuple[ReminderConfig, ...] = ()
    alerts: AlertsConfig = AlertsConfig()
    shifts: ShiftConfig = ShiftConfig()
    handovers: HandoversConfig = HandoversConfig()
    inbox: InboxConfig = InboxConfig()
    meetings: MeetingsConfig = MeetingsConfig()
    notices: NoticesConfig = NoticesConfig()
    review: ReviewConfig = ReviewConfig()

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        service_codes = {s.code for s in self.services}
        post_codes = [p.code for p in self.posts]
        if len(service_codes) != len(self.services):
            raise ValueError("services: duplicate service code")
        if len(set(post_codes)) != len(post_codes):
            raise ValueError("posts: duplicate post code")
        for index, post in enumerate(self.posts):
            for code in post.services:
                if code not in service_codes:
                    raise ValueError(f"posts[{index}].services: unknown service {code!r}")
            for code in post.partners:
                if code not in post_codes or code == post.code:
                    raise ValueError(f"posts[{index}].partners: unknown partner post {code!r}")
        for index, reminder in enumerate(self.reminders):
            if reminder.posts != "all":
                for code in reminder.posts:
                    if code not in post_codes:
                        raise ValueError(f"reminders[{index}].posts: unknown post {code!r}")
            if reminder.audience.service and reminder.audience.service not in service_codes:
                raise ValueError(f"reminders[{index}].audience.service: unknown service")
        for index, category in enumerate(self.alerts.categories):
            for code in category.required_services:
                if code not in service_codes:
                    raise ValueError(
                        f"alerts.categories[{index}].required_services: unknown service {code!r}"
                    )
        for code in self.shifts.posts:
            if code not in post_codes:
                raise ValueError(f"shifts.posts: unknown post {code!r}")
        for code in self.handovers.services:
            if code not in service_codes:
                raise ValueError(f"handovers.services: unknown service {code!r}")
        return self

    def post(self, code: str) -> PostConfig:
        """Return the post with this code (KeyError when unknown)."""
        for post in self.posts:
            if post.code == code:
                return post
        raise KeyError(code)

    def service(self, code: str) -> ServiceConfig:
        """Return the service with this code (KeyError when unknown)."""
        for service in self.services:
            if service.code == code:
                return service
        raise KeyError(code)

    def post_services(self, post_code: str) -> tuple[str, ...]:
        """Services present at a post (every service when the post lists none)."""
        services = self.post(post_code).services
        return services or tuple(s.code for s in self.services)

    def category(self, code: str) -> AlertCategory:
        """Return the alert category with this code (KeyError when unknown)."""
        for category in self.alerts.categories:
            if category.code == code:
                return category
        raise KeyError(code)

    # Look-ups for display: they never raise, since rows may outlive a config change.

    def find_post(self, code: str | None) -> PostConfig | None:
        """The post with this code, or None."""
        return next((p for p in self.posts if p.code == code), None) if code else None

    def post_name(self, code: str | None) -> str:
        """A post's display name ('—' for none, its code when no longer configured)."""
        if not code:
            return "—"
        post = self.find_post(code)
        return post.name if post is not None else code

    def post_zone(self, code: str | None, fallback: str | None = None) -> str:
        """The time zone of a post (else of `fallback`'s post, else UTC)."""
        post = self.find_post(code) or self.find_post(fallback)
        return post.timezone if post is not None else "UTC"

    def post_language(self, code: str | None) -> str | None:
        """A post's default language, or None for no (or an unknown) post."""
        post = self.find_post(code)
        return post.language if post is not None else None

    def service_name(self, code: str | None, language: str) -> str:
        """A service's name in `language` ('—' for none, its code when no longer configured)."""
        if not code:
            return "—"
        service = next((s for s in self.services if s.code == code), None)
        return service.name.get(language) if service is not None else code

    def has_category(self, code: str) -> bool:
        """Whether the code names a configured alert category."""
        return any(c.code == code for c in self.alerts.categories)

    def category_name(self, code: str, language: str) -> str:
        """An alert category's name in `language` (its code when no longer configured)."""
        category = next((c for c in self.alerts.categories if c.code == code), None)
        return category.name.get(language) if category is not None else code


def _describe(error: ValidationError, source: str) -> str:
    """Turn pydantic's first error into 'file: field: reason'."""
    first = error.errors()[0]
    field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in first["loc"]).replace(".[", "[")
    message = first["msg"].removeprefix("Value error, ")
    return f"{source}: {field or '(top level)'}: {message}"


def parse_config(data: Any, source: str = "config") -> Config:
    """Validate already-parsed YAML data into a Config."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): expected a mapping of sections")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and apply environment overrides (LIAISON_DATABASE_URL)."""
    environ = os.environ if environ is None else environ
    config_path = Path(path or environ.get("LIAISON_CONFIG") or default_config_path())
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(yaml)"
        raise ConfigError(f"{config_path}: {where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    config = parse_config(data, str(config_path))
    database_url = environ.get("LIAISON_DATABASE_URL")
    if database_url:
        config = config.model_copy(
            update={"bot": config.bot.model_copy(update={"database_url": database_url})}
        )
    return config
