"""Training scenarios: YAML files in sandbox/scenarios/ that seed people and play scripted steps.

The format is documented in the README ("Sandbox"); in short:

    title: {fr: ..., en: ...}
    summary: {fr: ..., en: ...}
    posts:                    # optional: posts the scenario brings (the sandbox's config only)
      - {code: BJ-KRAKE, name: Kraké, country: BJ, timezone: Africa/Porto-Novo, language: fr,
         services: [customs, police, health], partners: [NG-SEME]}
    post: NE-KONNI            # where the story happens: default location, shift changes, local times
    start: "06:30"            # optional: the clock starts at the next 06:30 at that post
    places: {NE-KONNI: [13.7961, 5.2497]}   # optional: the point a shared location falls on
    people:
      - {id: awa, name: Awa, language: fr, post: NE-KONNI, service: customs, role: agent}
      - {id: yusuf, name: Yusuf, post: NE-KONNI, service: police, joined: false}  # joins during the play
    steps:
      - say: {fr: ..., en: ...}           # what the trainer reads out
        do:
          - {who: awa, press: "🚨 Alert"}  # a reply-keyboard button
          - {who: awa, tap: "Health case"} # an inline button, by the label the person reads
          - {who: awa, send: {fr: ..., en: ...}}
          - {who: awa, location: true}     # or [lat, lon]
          - {who: awa, photo: {fr: caption, en: caption}}   # or true
          - {clock: "+15m"}                # or "shift" (the next shift change), or "07:15"
          - {who: yusuf, join: chief}      # open the newest invite link on the chief's phone
        expect:
          - {who: [john, awa], sees: {fr: ALERTE, en: ALERT}}
          - {who: kader, not_sees: ALERT}

A declared post takes config.yaml's keys for a post; its code must be new, its services configured ones,
its partners configured or declared posts (a partnership goes both ways). It exists only in the sandbox:
the bot the sandbox runs sees config.yaml's posts plus these, on the sandbox's own SQLite file.

A text is either one string (the same for everyone; for `tap` and `press` an English label that each person
reads translated by the bot's own catalogs) or a mapping {fr: ..., en: ...} picked by the person's language
(for `say`, by the language the trainer plays the scenario in). A person without `language` speaks the
language the scenario is played in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.config import Config, PostConfig

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
LANGUAGES = ("fr", "en")
Language = Literal["fr", "en"]
CLOCK_STEP = re.compile(r"^\+(\d+)\s*(m|min|h)$")
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ScenarioError(Exception):
    """A scenario file that cannot be played, phrased as 'file: where: why'."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Text = str | dict[Language, str]


def pick(text: Text | None, language: str) -> str | None:
    """The text for a language: the mapping's entry (the other language when missing), or the string."""
    if text is None or isinstance(text, str):
        return text
    return text.get(language) or next(iter(text.values()), None)  # type: ignore[call-overload]


class ScenarioPost(PostConfig):
    """A post a scenario brings: config.yaml's keys for a post, its services named (for the sandbox only)."""

    services: tuple[str, ...] = Field(min_length=1)


def with_posts(config: Config, posts: Iterable[PostConfig]) -> Config:
    """`config` plus new posts, partnerships made both ways; ValueError('posts[i]...: why') for a wrong one.

    Nothing is written anywhere: the result is a new frozen Config for the sandbox's own bot.
    """
    posts = tuple(posts)
    if not posts:
        return config
    configured = {p.code for p in config.posts}
    services = [s.code for s in config.services]
    declared: set[str] = set()
    for index, post in enumerate(posts):
        at = f"posts[{index}]"
        if post.code in configured:
            raise ValueError(
                f"{at}: post {post.code!r} is already in the configuration (a scenario only adds new posts)"
            )
        if post.code in declared:
            raise ValueError(f"{at}: post {post.code!r} is declared twice")
        declared.add(post.code)
        for code in post.services:
            if code not in services:
                raise ValueError(
                    f"{at}.services: unknown service {code!r} (the services are: {', '.join(services)})"
                )
    for index, post in enumerate(posts):
        for code in post.partners:
            if code == post.code:
                raise ValueError(f"posts[{index}].partners: a post is not its own partner")
            if code not in configured and code not in declared:
                raise ValueError(f"posts[{index}].partners: unknown post {code!r}")
    # A partnership goes both ways: the partner (configured or declared) gets this post as a partner too.
    partners = {p.code: list(p.partners) for p in (*config.posts, *posts)}
    for post in posts:
        for code in post.partners:
            if post.code not in partners[code]:
                partners[code].append(post.code)
    merged = [
        PostConfig.model_validate({**p.model_dump(), "partners": tuple(partners[p.code])})
        for p in (*config.posts, *posts)
    ]
    return config.model_copy(update={"posts": tuple(merged)})


class Person(_Strict):
    """Someone on a phone."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    name: str = Field(min_length=1, max_length=64)
    language: Language | None = None
    post: str | None = None
    service: str | None = None
    role: Literal["agent", "chief", "coordinator", "admin"] = "agent"
    # False: the phone appears when a `join` action opens an invite for them.
    joined: bool = True


class Action(_Strict):
    """One thing done during a step: exactly one verb."""

    who: str | None = None
    send: Text | None = None
    tap: Text | None = None
    press: Text | None = None
    location: bool | tuple[float, float] | None = None
    photo: Text | bool | None = None
    clock: str | None = None
    join: str | None = None

    @property
    def verb(self) -> str:
        """The action's verb."""
        verbs = [
            name
            for name in ("send", "tap", "press", "location", "photo", "clock", "join")
            if getattr(self, name) is not None
        ]
        return verbs[0]

    @model_validator(mode="after")
    def _one_verb(self) -> Action:
        verbs = [
            n
            for n in ("send", "tap", "press", "location", "photo", "clock", "join")
            if getattr(self, n) is not None
        ]
        if len(verbs) != 1:
            raise ValueError(
                "an action has exactly one of send, tap, press, location, photo, clock, join"
                f" (got {verbs or 'none'})"
            )
        if verbs[0] == "clock":
            if self.who is not None:
                raise ValueError("clock moves for everyone: no `who`")
            assert self.clock is not None
            if not (self.clock == "shift" or CLOCK_STEP.match(self.clock) or CLOCK_TIME.match(self.clock)):
                raise ValueError(f"clock: {self.clock!r}: use +15m, +2h, shift or HH:MM")
        elif self.who is None:
            raise ValueError(f"{verbs[0]}: who does it? (`who: <person id>`)")
        return self


class Expectation(_Strict):
    """What the trainer points at after a step; the sandbox checks it and shows ✓ or ✗."""

    who: str | tuple[str, ...]
    sees: Text | None = None
    not_sees: Text | None = None

    @property
    def people(self) -> tuple[str, ...]:
        """The people it is about."""
        return (self.who,) if isinstance(self.who, str) else self.who

    @model_validator(mode="after")
    def _something(self) -> Expectation:
        if (self.sees is None) == (self.not_sees is None):
            raise ValueError("an expectation has one of sees, not_sees")
        return self


class Step(_Strict):
    """One press of "Next": narration, actions, then what to look at."""

    say: Text | None = None
    do: tuple[Action, ...] = ()
    expect: tuple[Expectation, ...] = ()


class Scenario(_Strict):
    """A whole scenario file."""

    id: str
    title: dict[Language, str]
    summary: dict[Language, str] = Field(default_factory=dict)
    # Posts only this scenario has (added to the sandbox's own configuration, never to config.yaml).
    posts: tuple[ScenarioPost, ...] = ()
    post: str
    start: str | None = None
    places: dict[str, tuple[float, float]] = Field(default_factory=dict)
    people: tuple[Person, ...] = Field(min_length=1)
    steps: tuple[Step, ...] = ()
    # Free play (no steps) first, then the order of the file names.
    order: int = 100

    @field_validator("title")
    @classmethod
    def _both_languages(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [language for language in LANGUAGES if not value.get(language)]
        if missing:
            raise ValueError(f"missing the {', '.join(missing)} title")
        return value

    @field_validator("start")
    @classmethod
    def _start_time(cls, value: str | None) -> str | None:
        if value is not None and not CLOCK_TIME.match(value):
            raise ValueError(f"{value!r}: use HH:MM")
        return value

    @model_validator(mode="after")
    def _posts_distinct(self) -> Scenario:
        seen: set[str] = set()
        for index, post in enumerate(self.posts):
            if post.code in seen:
                raise ValueError(f"posts[{index}]: post {post.code!r} is declared twice")
            seen.add(post.code)
            if post.code in post.partners:
                raise ValueError(f"posts[{index}].partners: a post is not its own partner")
        return self

    @model_validator(mode="after")
    def _people_known(self) -> Scenario:
        ids = [p.id for p in self.people]
        if len(set(ids)) != len(ids):
            raise ValueError("people: two people share an id")
        known = set(ids)
        for number, step in enumerate(self.steps, 1):
            for action in step.do:
                for name in (action.who, action.join):
                    if name is not None and name not in known:
                        raise ValueError(f"steps[{number}]: unknown person {name!r}")
            for expectation in step.expect:
                for name in expectation.people:
                    if name not in known:
                        raise ValueError(f"steps[{number}]: unknown person {name!r}")
        return self

    def person(self, person_id: str) -> Person:
        """A person by id."""
        return next(p for p in self.people if p.id == person_id)

    def start_time(self) -> time | None:
        """The local time the clock starts at, if the scenario says."""
        if self.start is None:
            return None
        hours, minutes = self.start.split(":")
        return time(int(hours), int(minutes))

    def sandbox_config(self, config: Config, source: str = "scenario") -> Config:
        """The configuration the sandbox's bot runs this scenario on: `config` plus the declared posts."""
        try:
            return with_posts(config, self.posts)
        except ValueError as exc:
            raise ScenarioError(f"{source}: {exc}") from None

    def check_against(self, config: Config, source: str) -> None:
        """Refuse posts, services and roles the configuration (plus the declared posts) does not have."""
        config = self.sandbox_config(config, source)
        posts = {p.code for p in config.posts}
        problems: list[str] = []
        if self.post not in posts:
            problems.append(f"post: unknown post {self.post!r}")
        for code in self.places:
            if code not in posts:
                problems.append(f"places: unknown post {code!r}")
        for person in self.people:
            where = f"people[{person.id}]"
            if person.role in ("coordinator", "admin"):
                if person.post or person.service:
                    problems.append(f"{where}: a {person.role} belongs to no post or service")
                continue
            if person.post not in posts:
                problems.append(f"{where}: unknown post {person.post!r}")
            elif person.service is not None and person.service not in config.post_services(person.post):
                problems.append(f"{where}: no service {person.service!r} at {person.post}")
            if person.role == "agent" and person.service is None:
                problems.append(f"{where}: an agent needs a service")
        if problems:
            raise ScenarioError(f"{source}: {problems[0]}")


def parse_scenario(data: Any, scenario_id: str, source: str) -> Scenario:
    """Validate parsed YAML into a Scenario ('file: field: reason' on failure)."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: (top level): expected a mapping")
    try:
        return Scenario.model_validate({"id": scenario_id, **data})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
        where = where.removeprefix(".") or "(top level)"
        raise ScenarioError(f"{source}: {where}: {first['msg'].removeprefix('Value error, ')}") from None


def load_scenario(path: Path, config: Config | None = None) -> Scenario:
    """Read one scenario file (and check it against the configuration when given)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    scenario = parse_scenario(data, path.stem, str(path))
    if config is not None:
        scenario.check_against(config, str(path))
    return scenario


def load_scenarios(config: Config, directory: Path = SCENARIOS_DIR) -> dict[str, Scenario]:
    """Every scenario of a directory, free play first, then by file name."""
    found = [load_scenario(path, config) for path in sorted(directory.glob("*.yaml"))]
    return {s.id: s for s in sorted(found, key=lambda s: (s.order, s.id))}


def texts_of(scenario: Scenario) -> Iterable[tuple[str, Text]]:
    """Every translatable text of a scenario with where it sits (for the catalog checks in tests)."""
    yield "title", scenario.title
    if scenario.summary:
        yield "summary", scenario.summary
    for number, step in enumerate(scenario.steps, 1):
        if step.say is not None:
            yield f"steps[{number}].say", step.say
