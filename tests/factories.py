"""Shared helpers for the feature tests: teams of members, and people walking the bot's conversations.

People tap buttons by the label they read on their phone (in their language), not by callback data; only
forged presses use raw data.
"""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import translator
from db.alerts import Alert
from db.drafts import Draft
from db.members import Member
from db.schedules import ScheduledJob
from handlers.alerts.render import severity_label
from sandbox.emulator import EmulatedUser, ReceivedMessage
from tests.harness import Harness

INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


def language_of(user: EmulatedUser) -> str:
    """The language a test user reads (their Telegram language, French when unsupported)."""
    code = (user.state.language_code or "fr").split("-")[0]
    return code if code in ("fr", "en") else "fr"


def label(user: EmulatedUser, english: str) -> str:
    """A button label as this user reads it (the catalog looked up directly: a test's look-up of a name
    that is not in the catalogs is not the bot's, and must not trip the harness's translation check)."""
    return translator(language_of(user)).catalog.gettext(english)


async def tap(liaison: Harness, user: EmulatedUser, english: str, **kwargs: Any) -> None:
    """Press the button labelled `english` (in the user's language) and let the bot answer."""
    await user.tap(label(user, english), **kwargs)
    await liaison.settle()


async def tap_text(liaison: Harness, user: EmulatedUser, text: str, **kwargs: Any) -> None:
    """Press the button showing exactly `text` (a name, a service) and let the bot answer."""
    await user.tap(text, **kwargs)
    await liaison.settle()


def button_data(message: ReceivedMessage, text: str) -> str:
    """The callback data of the one inline button showing exactly `text` on `message`: a test fails here,
    clearly, when the message shows no such button or several."""
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    found = [button for row in rows for button in row if button.get("text") == text]
    if len(found) != 1:
        raise AssertionError(
            f"{len(found)} buttons {text!r} on message {message.message_id} ({message.text!r}); "
            f"it shows {message.buttons()}"
        )
    data = found[0].get("callback_data")
    if data is None:
        raise AssertionError(f"button {text!r} on message {message.message_id} has no callback data")
    return str(data)


async def press_text(user: EmulatedUser, text: str, message: ReceivedMessage | None = None) -> None:
    """Press the button showing exactly `text` on `message` (default: the newest message), as a thumb does.
    The bot does not answer yet (the caller settles): double taps and bursts stay possible."""
    message = message or user.last
    await user.tap(button_data(message, text), message_id=message.message_id)


async def press(
    user: EmulatedUser, english: str, message: ReceivedMessage | None = None, **values: Any
) -> None:
    """Press the button labelled `english` as this user reads it (placeholders filled from `values`) on
    `message` (default: the newest message); the caller settles."""
    await press_text(user, press_label(user, english, **values), message)


def with_buttons(user: EmulatedUser) -> list[ReceivedMessage]:
    """The user's messages that still show inline buttons (a reply keyboard is not one)."""
    return [m for m in user.inbox if (m.reply_markup or {}).get("inline_keyboard")]


def no_buttons(*messages: ReceivedMessage) -> bool:
    """Whether none of these messages (kept live: edits show) shows an inline button any more."""
    return not any((m.reply_markup or {}).get("inline_keyboard") for m in messages)


async def type_in(liaison: Harness, user: EmulatedUser, text: str) -> ReceivedMessage:
    """Type a message, let the bot answer; its newest message."""
    await user.send(text)
    await liaison.settle()
    return user.last


async def say(liaison: Harness, user: EmulatedUser, text: str) -> str:
    """Send a message, let the bot answer, return the newest message's text."""
    await user.send(text)
    await liaison.settle()
    return user.last.text or ""


def service_label(liaison: Harness, user: EmulatedUser, code: str) -> str:
    """A service's name as this user reads it."""
    return liaison.config.service_name(code, language_of(user))


def link_code(text: str) -> str:
    """The invite code in a deep link the bot showed."""
    match = INVITE_LINK.search(text)
    assert match, f"no invite link in {text!r}"
    return match.group(1)


async def member_row(liaison: Harness, user: EmulatedUser) -> Member:
    """The member row behind a test user."""
    [row] = await liaison.rows(Member, Member.telegram_id == user.id)
    return row


async def members_by_name(liaison: Harness) -> dict[str, Member]:
    """Every member row, by display name."""
    return {m.display_name: m for m in await liaison.rows(Member)}


# ----- alerts -----------------------------------------------------------------------------------------------


async def post_team(liaison: Harness) -> tuple[EmulatedUser, EmulatedUser, EmulatedUser, EmulatedUser]:
    """Konni: a French Customs agent, an English Police agent, a French Health agent, the (French) chief."""
    customs = await liaison.member("Awa", service="customs", language="fr")
    police = await liaison.member("John", service="police", language="en")
    health = await liaison.member("Mariama", service="health", language="fr")
    chief = await liaison.member("Ibrahim", service="gendarmerie", role="chief", language="fr")
    return customs, police, health, chief


async def raise_health_alert(liaison: Harness, author: EmulatedUser) -> Alert:
    """The author raises the walkthroughs' urgent health alert (one-line form); the test's only alert."""
    await author.send("/alert urgent santé: voyageur fiévreux porte 2")
    await liaison.settle()
    [alert] = await liaison.rows(Alert)
    return alert


async def alert_with_readers(
    liaison: Harness,
) -> tuple[EmulatedUser, EmulatedUser, EmulatedUser, EmulatedUser, Alert]:
    """The post's team, a chief of no service (Moussa, French) and a coordinator (English), and Customs'
    health alert: (customs, the team's chief, Moussa, the coordinator, the alert)."""
    customs, _police, _health, chief = await post_team(liaison)
    boss = await liaison.member("Moussa", service=None, role="chief", language="fr")
    coordinator = await liaison.member("Coord", role="coordinator", language="en")
    return customs, chief, boss, coordinator, await raise_health_alert(liaison, customs)


def alert_copy(user: EmulatedUser, alert_id: int) -> Any:
    """The user's copy of an alert (the card carrying its buttons)."""
    for message in user.inbox:
        text = message.text or ""
        if f"ALERT #{alert_id} " in text or (text.startswith("ALERTE ") and f"n°{alert_id} " in text):
            return message
    raise AssertionError(f"no copy of alert {alert_id} for {user!r}: {user.texts}")


async def draft_of(liaison: Harness, user: EmulatedUser, flow: str = "alert") -> Draft:
    """The user's draft of a conversation."""
    member = await member_row(liaison, user)
    [draft] = await liaison.rows(Draft, Draft.member_id == member.id, Draft.flow == flow)
    return draft


async def drafts_of(liaison: Harness, user: EmulatedUser) -> list[Draft]:
    """Every draft the user has."""
    member = await member_row(liaison, user)
    return await liaison.rows(Draft, Draft.member_id == member.id)


def category_button(liaison: Harness, user: EmulatedUser, code: str) -> str:
    """An alert category's button as the user reads it."""
    return liaison.config.category_name(code, language_of(user))


def severity_button(user: EmulatedUser, severity: str) -> str:
    """A severity's button as the user reads it."""
    return severity_label(translator(language_of(user)), severity)


async def draft_to_details(liaison: Harness, user: EmulatedUser, category: str, severity: str) -> Draft:
    """Open /alert and tap a category and a severity: the draft then asks what is happening."""
    await user.send("/alert")
    await liaison.settle()
    await tap_text(liaison, user, category_button(liaison, user, category))
    await tap_text(liaison, user, severity_button(user, severity))
    return await draft_of(liaison, user)


async def raise_guided(
    liaison: Harness,
    user: EmulatedUser,
    *,
    category: str,
    severity: str,
    location: tuple[float, float] | None = None,
    photo: bool = False,
    text: str = "Voyageur fiévreux",
) -> tuple[Alert, str | None]:
    """Play the whole /alert conversation with taps and answers; returns the new alert and its photo."""
    await draft_to_details(liaison, user, category, severity)
    if location:
        await user.share_location(*location)
        await liaison.settle()
    file_id = None
    if photo:
        file_id = await user.send_photo()
        await liaison.settle()
    await user.send(text)
    await liaison.settle()
    await tap(liaison, user, "✅ Send")
    alerts = await liaison.rows(Alert)
    return alerts[-1], file_id


# ----- reminders --------------------------------------------------------------------------------------------


async def chief_reminders(liaison: Harness) -> list[ScheduledJob]:
    """Reminders created through the bot."""
    from sqlmodel import col

    return await liaison.rows(ScheduledJob, col(ScheduledJob.key).startswith("chief:"))


async def save_reminder(
    liaison: Harness,
    chief: EmulatedUser,
    text: str,
    every: str,
    time: str,
    audience: str,
    *,
    day: str | None = None,
) -> None:
    """Walk /remind for a repeating reminder and save it; `every` and `audience` are button labels."""
    for step in ("/remind", text):
        await chief.send(step)
        await liaison.settle()
    await tap(liaison, chief, every)
    if day is not None:
        await tap_text(liaison, chief, day)
    await chief.send(time)
    await liaison.settle()
    await tap_text(liaison, chief, audience)
    await tap(liaison, chief, "✅ Save")


# ----- meetings ---------------------------------------------------------------------------------------------


def press_label(user: EmulatedUser, english: str, **values: Any) -> str:
    """A button label with placeholders, as this user reads it."""
    return label(user, english).format(**values)


async def minutes_to_notes(
    liaison: Harness, chief: EmulatedUser, *, present: tuple[str, ...], title: str | None = None
) -> None:
    """Open /meeting, take the offered (or type a) title, date it now, tick the services present: the draft
    then waits for the notes. Codes in `present` may carry a post ("BF-KANTCHARI/customs")."""
    await chief.send("/meeting")
    await liaison.settle()
    if title is None:
        await chief.tap(chief.last.buttons()[0])
    else:
        await chief.send(title)
    await liaison.settle()
    await chief.tap(next(b for b in chief.last.buttons() if b.startswith("🕘")))
    await liaison.settle()
    for code in present:
        post, _, service = code.rpartition("/")
        name = service_label(liaison, chief, service)
        wanted = f"▫️ {name}" + (f" · {liaison.config.post_name(post)}" if post else "")
        await chief.tap(
            next(b for b in chief.last.buttons() if b == wanted or (not post and b.startswith(wanted)))
        )
        await liaison.settle()
    await tap(liaison, chief, "➡️ Continue")


async def publish_minutes(
    liaison: Harness,
    chief: EmulatedUser,
    *,
    present: tuple[str, ...],
    notes: tuple[str, ...] = (),
    decisions: str = "",
    actions: str = "",
    title: str | None = None,
) -> None:
    """Write whole minutes (typed action lines confirmed as read) and publish them, skipping the next
    meeting."""
    await minutes_to_notes(liaison, chief, present=present, title=title)
    for part in notes:
        await chief.send(part)
        await liaison.settle()
    await chief.tap(chief.last.buttons()[0])  # Next (or No notes)
    await liaison.settle()
    if decisions:
        await chief.send(decisions)
        await liaison.settle()
    await chief.tap(chief.last.buttons()[0])
    await liaison.settle()
    if actions:
        await chief.send(actions)
        await liaison.settle()
        await chief.tap(chief.last.buttons()[0])  # Add these items
        await liaison.settle()
    await chief.tap(next(b for b in chief.last.buttons() if b.startswith("➡️") or b.startswith("⏭")))
    await liaison.settle()
    await tap(liaison, chief, "⏭ No date")
    await tap(liaison, chief, "📤 Publish")
