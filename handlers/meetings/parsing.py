"""Reading action item lines typed in French or English: owner — what — due date.

`Action: Douane — transmettre la liste des véhicules saisis — 12/12` or
`Action: Health Police: brief the night shift: Friday`. The owner is a service of the post (or of the partner
post at a joint meeting) by its French or English name, or a person of those posts by name. A line that cannot
be read comes back with the reason: nothing is dropped and nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from bot.config import Config
from bot.dates import Direction, TimeProblem, TimeRefused, check_day, fold, parse_day

# "Action: ", "Action 2 - ", "- ", "• ", "3. ", "3) " before the owner.
_PREFIX = re.compile(
    r"^\s*(?:[-•*▪►·]+\s*|\d{1,2}[.)]\s+)?(?:actions?(?:\s*\d{1,2})?\s*[:\-–—.]\s*)?", re.IGNORECASE
)
# Between owner, task and date: a dash with spaces, an em or en dash, a bar, a semicolon, or a colon that is
# not inside a time ("14:30" stays in the task).
_SEPARATOR = re.compile(r"\s+-+\s+|\s*[—–]+\s*|\s*\|\s*|\s*;\s*|(?<!\d)\s*:\s*(?!\d)")
_ARTICLES = ("la ", "le ", "les ", "l'", "the ")
_QUALIFIED = re.compile(r"^(?P<owner>.+?)\s*\((?P<post>[^()]+)\)$")


# A candidate owner that is a service, named in the reader's language when shown ("service:customs").
SERVICE = "service:"


class LineProblem(StrEnum):
    """Why a typed action line was not taken."""

    SHAPE = "shape"  # not "owner — what — date"
    OWNER_UNKNOWN = "owner_unknown"
    OWNER_AMBIGUOUS = "owner_ambiguous"
    NO_TASK = "no_task"
    TOO_LONG = "too_long"
    DATE = "date"  # see date_problem
    LIMIT = "limit"  # over the number of items a meeting may have


@dataclass(frozen=True)
class Owner:
    """Who an item belongs to: a service at a post, or a person (of a post)."""

    post_code: str
    service_code: str | None = None
    member_id: int | None = None
    # A person's name as shown.
    name: str | None = None

    def dump(self) -> dict[str, object]:
        """The JSON form kept in a draft."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Person:
    """A member who may own an action item."""

    member_id: int
    name: str
    post_code: str
    service_code: str | None


@dataclass(frozen=True)
class OwnerMatch:
    """The owner a text names, or why it names none (with the candidates when several fit)."""

    owner: Owner | None
    problem: LineProblem | None = None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadLine:
    """One typed line as it was read: an item, or the reason it is not one."""

    line: str
    owner: Owner | None = None
    task: str = ""
    due: date | None = None
    problem: LineProblem | None = None
    date_problem: TimeProblem | None = None
    # The owner or the date as typed, to quote back; candidate owners: people's names, or SERVICE + code.
    owner_text: str = ""
    due_text: str = ""
    candidates: tuple[str, ...] = field(default_factory=tuple)


def _bare(text: str) -> str:
    """Folded, without a leading article or trailing punctuation: "La Douane." -> "douane"."""
    folded = fold(text).strip(" .,;:!?\"'«»“”")
    for article in _ARTICLES:
        if folded.startswith(article) and len(folded) > len(article):
            folded = folded[len(article) :].strip()
    return folded


class Owners:
    """The services and people an item of one meeting may belong to."""

    def __init__(self, config: Config, posts: list[str], people: Iterable[Person]) -> None:
        self.config = config
        # The meeting's own post first: an unqualified service present at both posts is the host's.
        self.posts = posts
        self.people = list(people)

    def _post_named(self, text: str) -> str | None:
        wanted = _bare(text)
        for code in self.posts:
            if wanted in (fold(code), fold(self.config.post_name(code))):
                return code
        return None

    def _services(self, text: str, posts: list[str]) -> list[Owner]:
        wanted = _bare(text)
        found = []
        for post in posts:
            for code in self.config.post_services(post):
                service = self.config.service(code)
                if wanted in (fold(service.name.fr), fold(service.name.en)):
                    found.append(Owner(post_code=post, service_code=code))
        return found

    def _people(self, text: str, posts: list[str]) -> list[Person]:
        wanted = _bare(text)
        exact = [p for p in self.people if p.post_code in posts and fold(p.name) == wanted]
        if exact:
            return exact
        # A first or last name alone, when only one person of these posts carries it.
        return [p for p in self.people if p.post_code in posts and wanted in fold(p.name).split()]

    def find(self, text: str) -> OwnerMatch:
        """The owner `text` names: a service (optionally "(post)"), else a person; never a guess."""
        posts = self.posts
        qualified = _QUALIFIED.match(text.strip())
        name = text
        if qualified and self._post_named(qualified["post"]):
            posts, name = [self._post_named(qualified["post"]) or ""], qualified["owner"]
        elif len(self.posts) > 1:
            # "Douane Kantchari": a post's name after the owner.
            words = text.split()
            for cut in range(1, len(words)):
                code = self._post_named(" ".join(words[cut:]))
                if code is not None:
                    posts, name = [code], " ".join(words[:cut])
                    break
        if not _bare(name):
            return OwnerMatch(None, LineProblem.OWNER_UNKNOWN)
        services = self._services(name, posts)
        if services:
            # The same service at both posts of a joint meeting: the host's, unless a post was named.
            return OwnerMatch(services[0])
        people = self._people(name, posts)
        if len(people) == 1:
            person = people[0]
            return OwnerMatch(Owner(post_code=person.post_code, member_id=person.member_id, name=person.name))
        if len(people) > 1:
            return OwnerMatch(None, LineProblem.OWNER_AMBIGUOUS, tuple(p.name for p in people[:5]))
        # "Police", "Forêts": part of a service's name is not taken for it; the names are offered instead.
        partial = self._partial_services(name, posts)
        if partial:
            return OwnerMatch(None, LineProblem.OWNER_AMBIGUOUS, tuple(partial[:5]))
        return OwnerMatch(None, LineProblem.OWNER_UNKNOWN)

    def _partial_services(self, text: str, posts: list[str]) -> list[str]:
        """The services whose French or English name holds every word typed, as "service:<code>" candidates
        (named in the reader's language when shown)."""
        words = set(_bare(text).split())
        found: list[str] = []
        for post in posts:
            for code in self.config.post_services(post):
                service = self.config.service(code)
                names = (fold(service.name.fr).split(), fold(service.name.en).split())
                if any(words <= set(name) for name in names) and SERVICE + code not in found:
                    found.append(SERVICE + code)
        return found


def split_line(line: str) -> tuple[str, str, str] | None:
    """(owner, task, due) as typed, or None when the line does not have the three parts."""
    body = _PREFIX.sub("", line, count=1).strip()
    separators = list(_SEPARATOR.finditer(body))
    if len(separators) < 2:
        return None
    first, last = separators[0], separators[-1]
    return body[: first.start()].strip(), body[first.end() : last.start()].strip(), body[last.end() :].strip()


def read_line(line: str, owners: Owners, *, zone: str, now: datetime, max_chars: int) -> ReadLine:
    """Read one typed line as an action item, or say why not."""
    parts = split_line(line)
    if parts is None:
        return ReadLine(line, problem=LineProblem.SHAPE)
    owner_text, task, due_text = parts
    match = owners.find(owner_text)
    if match.owner is None:
        return ReadLine(
            line,
            problem=match.problem,
            owner_text=owner_text,
            candidates=match.candidates,
            task=task,
            due_text=due_text,
        )
    if not task:
        return ReadLine(line, owner=match.owner, problem=LineProblem.NO_TASK, owner_text=owner_text)
    if len(task) > max_chars:
        return ReadLine(line, owner=match.owner, task=task, problem=LineProblem.TOO_LONG)
    try:
        due = check_day(
            parse_day(due_text, zone=zone, now=now, direction=Direction.FUTURE), zone=zone, now=now
        )
    except TimeRefused as refused:
        return ReadLine(
            line,
            owner=match.owner,
            task=task,
            problem=LineProblem.DATE,
            date_problem=refused.problem,
            due_text=due_text,
        )
    return ReadLine(line, owner=match.owner, task=task, due=due, owner_text=owner_text, due_text=due_text)


def read_lines(
    text: str, owners: Owners, *, zone: str, now: datetime, max_chars: int, room: int
) -> list[ReadLine]:
    """Every non-blank line of a message; lines past `room` items are refused with the limit."""
    read: list[ReadLine] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        line = read_line(raw.strip(), owners, zone=zone, now=now, max_chars=max_chars)
        if line.problem is None:
            if room <= 0:
                line = ReadLine(line.line, problem=LineProblem.LIMIT)
            room -= 1
        read.append(line)
    return read
