"""Shared phrases: role and service names, the bilingual notice for strangers."""

from __future__ import annotations

import html
import re

from bot.config import Config
from bot.i18n import N_, Translator, translator
from db.members import Member

ROLE_NAMES = {
    "agent": N_("agent"),
    "chief": N_("post chief"),
    "coordinator": N_("coordinator"),
    "admin": N_("administrator"),
}


def capitalized(text: str) -> str:
    """A phrase that starts a line or a button ('relève de 07:00…' -> 'Relève de 07:00…')."""
    return text[:1].upper() + text[1:]


def role_name(tr: Translator, role: str) -> str:
    """A role in the reader's language."""
    return tr.gettext(ROLE_NAMES.get(role, role))


# A person's role beside their name (a signature, an alert's author), named as a function: the bot does not
# know genders, and French role nouns have them ("coordinateur", "coordinatrice").
FUNCTION_NAMES = {
    # TRANSLATORS: a person's role beside their name, "From Awa (agent, Customs)"; gender-neutral.
    "agent": N_("agent"),
    # TRANSLATORS: a person's role beside their name, "From Ibrahim (post chief, Gendarmerie)".
    "chief": N_("post chief"),
    # TRANSLATORS: a person's role beside their name, "From Claire (coordination)": the function, not a
    # noun with a gender (French: "coordination", not "coordinateur").
    "coordinator": N_("coordination"),
    # TRANSLATORS: a person's role beside their name, "From Moussa (administration)": the function.
    "admin": N_("administration"),
}


def function_name(tr: Translator, role: str) -> str:
    """A role beside a name, as a function without gender: "coordination", "post chief"."""
    return tr.gettext(FUNCTION_NAMES.get(role, role))


def role_and_service(
    tr: Translator, config: Config, role: str, service: str | None, separator: str = ", "
) -> str:
    """'agent, Customs', or the role alone for someone of no service (a chief of the whole post, a
    coordinator): never 'post chief, —' (plain text)."""
    if not service:
        return role_name(tr, role)
    return f"{role_name(tr, role)}{separator}{config.service_name(service, tr.language)}"


def membership(tr: Translator, config: Config, role: str, service: str | None, post: str | None) -> str:
    """'agent · Customs · Birni N'Konni': role, then service and post when there are (HTML-safe)."""
    where = config.post_name(post) if post else tr.gettext("every post")
    return html.escape(f"{role_and_service(tr, config, role, service, ' · ')} · {where}")


def in_language(words: object, language: str) -> str:
    """Stored words in the reader's language: a dict by language (config texts carry both, French by
    default), or the text as written; "" for none."""
    if isinstance(words, dict):
        return str(words.get(language) or words.get("fr") or "")
    return str(words or "")


def member_translator(member: Member | None, telegram_language: str | None = None) -> Translator:
    """The translator for a member, or for Telegram's language when the member has not chosen one."""
    from bot.i18n import supported_language

    if member is not None and member.language:
        return translator(member.language)
    return translator(supported_language(telegram_language))


def bilingual(message: str) -> str:
    """The same message in French then English, for people whose language we do not know yet."""
    return "\n\n".join(
        f"{flag} {translator(lang).gettext(message)}" for flag, lang in (("🇫🇷", "fr"), ("🇬🇧", "en"))
    )


# Button answers are limited to 200 characters: the short form fits both languages.
SHORT_HOW_TO_JOIN = N_("Only border post members can use Liaison. Ask your post chief for an invite.")
HOW_TO_JOIN = N_(
    "Liaison is reserved for staff of border posts. "
    "To join, ask your post chief for an invite link and open it on this phone."
)


# Telegram refuses a message longer than 4096 characters; keep room for a header and a closing line.
MESSAGE_BUDGET = 3800


def fit_lines(
    tr: Translator, lines: list[str], budget: int = MESSAGE_BUDGET, total: int | None = None
) -> list[str]:
    """As many lines as fit in `budget` characters, then '…and N more' (N counted against `total`)."""
    total = len(lines) if total is None else total
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    if total > len(kept):
        extra = total - len(kept)
        kept.append(tr.ngettext("…and {n} more", "…and {n} more", extra).format(n=extra))
    return kept


# How far back an excerpt looks for the end of a word: further, the word is a long link or number, cut inside.
WORD_BACKOFF = 25
# Characters that go on with the word (or bot command) before them.
_WORD_GOES_ON = re.compile(r"[\w@'’]")
# A bot command ending a cut text: a phone shows a half "/ale" as a command, which sends /ale if tapped.
_COMMAND_TAIL = re.compile(r"(?<![\w/])/\w*(?:@\w*)?$")
# Opening brackets and quotes an excerpt must not end with.
_OPENERS = "([«“'\""


def excerpt(text: str, limit: int) -> str:
    """The beginning of `text` in at most `limit` characters, ending between words, with an ellipsis.

    Not escaped: escape the result, so that an HTML entity is never cut in two.
    """
    if len(text) <= limit:
        return text
    room = max(limit - 1, 0)  # the ellipsis takes one character
    head = text[: _cut_point(text, room)].rstrip().rstrip(",;:").rstrip()
    # An opening bracket or quote left before the ellipsis opens nothing: "(…" reads as a typo.
    while head and head[-1] in _OPENERS:
        head = head[:-1].rstrip().rstrip(",;:").rstrip()
    return head + "…"


def preview(text: str, limit: int) -> str:
    """The beginning of `text` on one line (a list row, a button, a quote, a title): its line breaks and
    runs of blanks read as one space, cut between words like `excerpt` (not escaped either)."""
    return excerpt(" ".join(text.split()), limit)


def _cut_point(text: str, room: int) -> int:
    """Where an excerpt of at most `room` characters ends: before a word it would cut when that word starts
    close enough, and before a command it would cut wherever it starts (unless nothing would be left)."""
    head = text[:room]
    if not _WORD_GOES_ON.match(text[room]):
        return room
    command = _COMMAND_TAIL.search(head)
    if command is not None and command.start() > 0:
        return command.start()
    space = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if space > 0 and room - space <= min(WORD_BACKOFF, room // 3):
        return space
    return room
