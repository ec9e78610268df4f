"""Shared phrases: role and service names, the bilingual notice for strangers."""

from __future__ import annotations

import html

from bot.config import Config
from bot.i18n import N_, Translator, translator
from db.members import Member

ROLE_NAMES = {
    "agent": N_("agent"),
    "chief": N_("post chief"),
    "coordinator": N_("coordinator"),
    "admin": N_("administrator"),
}


def role_name(tr: Translator, role: str) -> str:
    """A role in the reader's language."""
    return tr.gettext(ROLE_NAMES.get(role, role))


def membership(tr: Translator, config: Config, role: str, service: str | None, post: str | None) -> str:
    """'agent · Customs · Birni N'Konni': role, then service and post when there are (HTML-safe)."""
    parts = [role_name(tr, role)]
    if service:
        parts.append(html.escape(config.service_name(service, tr.language)))
    parts.append(html.escape(config.post_name(post)) if post else tr.gettext("every post"))
    return " · ".join(parts)


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
