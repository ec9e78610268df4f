"""Alert rules, free of Telegram: the one-line form, priorities, which posts and services are concerned."""

from __future__ import annotations

import unicodedata

from bot.config import AlertCategory, Config
from db import alerts as store
from db.alerts import Alert, AlertAck, Severity
from db.outbox import Priority

SEVERITY_PRIORITY = {
    Severity.URGENT: Priority.URGENT,
    Severity.IMPORTANT: Priority.HIGH,
    Severity.INFO: Priority.NORMAL,
}
SEVERITY_WORDS = {
    "urgent": Severity.URGENT,
    "urgente": Severity.URGENT,
    "urgence": Severity.URGENT,
    "important": Severity.IMPORTANT,
    "importante": Severity.IMPORTANT,
    "info": Severity.INFO,
    "infos": Severity.INFO,
    "information": Severity.INFO,
}
# Extra words for the one-line form, beyond each category's code and names.
CATEGORY_ALIASES = {
    "sante": "health",
    "sanitaire": "health",
    "securite": "security",
    "migratoire": "migration",
    "migrants": "migration",
    "contrebande": "smuggling",
    "fraude": "smuggling",
    "douane": "smuggling",
    "customs": "smuggling",
    "faune": "wildlife",
    "foret": "wildlife",
    "forest": "wildlife",
    "epidemie": "epidemic",
    "epidemique": "epidemic",
    "autre": "other",
}


def fold(word: str) -> str:
    """Lower-case without accents, so 'Santé' and 'sante' match."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c))


def category_words(config: Config) -> dict[str, str]:
    """Every word the one-line form accepts for a category."""
    words = {fold(a): code for a, code in CATEGORY_ALIASES.items() if config.has_category(code)}
    for category in config.alerts.categories:
        for word in (
            category.code,
            category.name.fr,
            category.name.en,
            category.word("fr"),
            category.word("en"),
        ):
            words[fold(word)] = category.code
    return words


def parse_one_line(config: Config, args: str) -> tuple[Severity, str, str] | None:
    """'urgent health: fever at gate 2' → (severity, category, text); None when it cannot be read."""
    head, colon, body = args.partition(":")
    words = head.split()
    if not colon:
        # Without a colon, the first two words are the severity and the category.
        words, body = head.split()[:2], " ".join(head.split()[2:])
    severity = category = None
    known = category_words(config)
    for word in words:
        key = fold(word)
        if key in SEVERITY_WORDS and severity is None:
            severity = SEVERITY_WORDS[key]
        elif key in known and category is None:
            category = known[key]
        else:
            return None
    if severity is None or category is None or not body.strip():
        return None
    return severity, category, body.strip()


def priority_of(severity: str) -> Priority:
    """Delivery priority of a severity."""
    return SEVERITY_PRIORITY.get(Severity(severity), Priority.NORMAL)


def required_pairs(config: Config, category: AlertCategory, posts: list[str]) -> list[str]:
    """(post, service) pairs that must acknowledge: the category's services at each post (all if none)."""
    pairs: list[str] = []
    for post_code in posts:
        present = config.post_services(post_code)
        wanted = (
            [s for s in present if s in category.required_services] if category.required_services else present
        )
        pairs += [store.pair(post_code, s) for s in wanted]
    return pairs


def unstaffed_pairs(config: Config, alert: Alert) -> set[str]:
    """Pairs the category requires but that were left out when raised: nobody of the service was at the post
    (alerts raised before this rule required every pair, so they have none)."""
    return set(unstaffed_list(config, alert))


def unstaffed_list(config: Config, alert: Alert) -> list[str]:
    """unstaffed_pairs() in the order of the posts and services."""
    if not config.has_category(alert.category) or any(config.find_post(p) is None for p in alert.posts):
        return []
    wanted = required_pairs(config, config.category(alert.category), alert.posts)
    return [p for p in wanted if p not in alert.required]


def awaiting_stand_in(
    config: Config, alert: Alert, acks: list[AlertAck], *, stood_in: bool
) -> list[tuple[str, str]]:
    """Required (post, service) pairs with nobody of the service at the post, that nobody answered for yet.

    Nobody there can acknowledge them, so the alert is not handled without them: a post chief or a
    coordinator (who can reach the service by other means) answers for them by pressing Seen or Taking
    action (`stood_in`); a member of the service who joined since and acknowledged answers for their own."""
    if stood_in:
        return []
    done = {store.pair(a.post_code, a.service_code) for a in acks}
    return [store.split_pair(p) for p in unstaffed_list(config, alert) if p not in done]


def alert_posts(config: Config, category: AlertCategory, post_code: str) -> list[str]:
    """The author's post, plus its partners for cross-border categories."""
    return [post_code, *config.post(post_code).partners] if category.cross_border else [post_code]
