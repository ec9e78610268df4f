"""Plays a scenario one step at a time: the trainer reads the narration, the phones act, the checks show."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.scenario import Action, Expectation, Scenario, pick

if TYPE_CHECKING:
    from sandbox.core import Phone, Sandbox

INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


class Player:
    """Where a loaded scenario stands, and what its steps showed."""

    def __init__(self, sandbox: Sandbox, scenario: Scenario, language: str) -> None:
        self.sandbox = sandbox
        self.scenario = scenario
        self.language = language
        self.index = 0
        self.played: list[dict[str, Any]] = []

    @property
    def done(self) -> bool:
        """Every step was played."""
        return self.index >= len(self.scenario.steps)

    def view(self) -> dict[str, Any]:
        """What the trainer's panel shows."""
        upcoming = None if self.done else self.scenario.steps[self.index]
        return {
            "id": self.scenario.id,
            "title": self.scenario.title,
            "summary": self.scenario.summary,
            "language": self.language,
            "index": self.index,
            "total": len(self.scenario.steps),
            "done": self.done,
            "last": self.played[-1] if self.played else None,
            "next_say": pick(upcoming.say, self.language) if upcoming is not None else None,
        }

    def _publish(self) -> None:
        self.sandbox.publish({"type": "scenario", "scenario": self.view()})

    async def next(self) -> dict[str, Any]:
        """Play the next step: its actions in order (the bot at rest after each), then its checks."""
        from sandbox.core import SandboxError

        if self.done:
            raise SandboxError("the scenario is over")
        step = self.scenario.steps[self.index]
        self.index += 1
        record: dict[str, Any] = {
            "number": self.index,
            "say": pick(step.say, self.language),
            "checks": [],
            "error": None,
            "playing": True,
        }
        self.played.append(record)
        self._publish()
        try:
            for action in step.do:
                await self.perform(action)
                await self.sandbox.settle()
        except SandboxError as exc:
            record["error"] = str(exc)
        record["checks"] = [check for expectation in step.expect for check in self.check(expectation)]
        record["playing"] = False
        self._publish()
        return record

    async def perform(self, action: Action) -> None:
        """Do one action as the person it names."""
        sandbox, verb = self.sandbox, action.verb
        if verb == "clock":
            assert action.clock is not None
            await sandbox.advance_to(sandbox.clock_target(action.clock))
            return
        assert action.who is not None
        if verb == "join":
            assert action.join is not None
            await self.join(action.who, sandbox.phone_of(action.join))
            return
        phone = sandbox.phone_of(action.who)
        language = phone.language
        if verb == "send":
            await sandbox.send(phone.id, pick(action.send, language) or "")
        elif verb == "tap":
            assert action.tap is not None
            message_id, data = sandbox.find_button(phone, sandbox.labels(action.tap, language))
            await sandbox.tap(phone.id, message_id, data)
        elif verb == "press":
            assert action.press is not None
            await sandbox.press(phone, sandbox.labels(action.press, language))
        elif verb == "location":
            if isinstance(action.location, tuple):
                await sandbox.emulator.user(phone.id).share_location(*action.location)
            else:
                await sandbox.share_location(phone.id)
        elif verb == "photo":
            caption = None if isinstance(action.photo, bool) else pick(action.photo, language)
            await sandbox.send_photo(phone.id, caption)

    async def join(self, person_id: str, via: Phone) -> None:
        """The person opens the newest invite link shown on `via`'s phone, on a phone of their own."""
        from sandbox.core import SandboxError

        person = self.scenario.person(person_id)
        code = None
        chat = self.sandbox.emulator.chats.get(via.id)
        for msg in sorted(chat.sent.values(), key=lambda m: m.message_id, reverse=True) if chat else []:
            links = [e.get("url", "") for e in msg.entities if e.get("type") == "text_link"]
            for text in [*links, msg.text or ""]:
                match = INVITE_LINK.search(text)
                if match:
                    code = match.group(1)
                    break
            if code:
                break
        if code is None:
            raise SandboxError(f"{via.name}: no invite link on the phone")
        await self.sandbox.add_phone(
            person.name,
            language=person.language or self.language,
            post=person.post,
            service=person.service,
            role=person.role,
            person=person.id,
            code=code,
        )

    def check(self, expectation: Expectation) -> list[dict[str, Any]]:
        """Does each person's phone show (or not show) the text, in their language?"""
        from sandbox.core import SandboxError

        results: list[dict[str, Any]] = []
        wanted = expectation.sees if expectation.sees is not None else expectation.not_sees
        for person_id in expectation.people:
            try:
                phone = self.sandbox.phone_of(person_id)
            except SandboxError:
                name = self.scenario.person(person_id).name
                results.append({"who": name, "phone": None, "text": "", "sees": True, "ok": False})
                continue
            text = pick(wanted, phone.language) or ""
            chat = self.sandbox.emulator.chats.get(phone.id)
            shown = [m.text or "" for m in chat.sent.values() if not m.deleted] if chat else []
            found = any(text in s for s in shown)
            seen = expectation.sees is not None
            results.append(
                {"who": phone.name, "phone": phone.id, "text": text, "sees": seen, "ok": found == seen}
            )
        return results
