"""Alerts without the bot: the one-line form, the config rules, and the atomic per-service acknowledgement."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from bot.config import ConfigError, parse_config
from db.alerts import AckKind, Alert, acknowledge, list_acks, pending_required
from db.members import Member
from handlers.alerts.rules import parse_one_line, required_pairs

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("urgent health: fever at gate 2", ("urgent", "health", "fever at gate 2")),
        ("URGENT Santé : fièvre porte 2", ("urgent", "health", "fièvre porte 2")),
        ("santé urgente: fièvre", ("urgent", "health", "fièvre")),
        ("important contrebande: camion", ("important", "smuggling", "camion")),
        ("info other no colon here", ("info", "other", "no colon here")),
        ("important migration: groupe de 40 : nord", ("important", "migration", "groupe de 40 : nord")),
        ("urgent: no category", None),
        ("health: no severity", None),
        ("urgent health:", None),
        ("urgent health wildlife: two categories", None),
        ("", None),
    ],
)
def test_one_line_form(config, line, expected):
    parsed = parse_one_line(config, line)
    assert (None if parsed is None else (parsed[0].value, parsed[1], parsed[2])) == expected


def test_required_services_follow_each_post(config):
    assert required_pairs(config, config.category("security"), ["NE-MAKALONDI"]) == ["NE-MAKALONDI/police"]
    assert required_pairs(config, config.category("other"), ["BF-KANTCHARI"]) == [
        "BF-KANTCHARI/customs",
        "BF-KANTCHARI/police",
        "BF-KANTCHARI/health",
        "BF-KANTCHARI/gendarmerie",
    ]


def test_escalation_ladders_must_climb(config):
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["alerts"]["escalation"]["urgent"] = [
        {"after_minutes": 15, "notify": ["coordinators"]},
        {"after_minutes": 5, "notify": ["chief"]},
    ]
    with pytest.raises(ConfigError, match=r"escalation\.urgent: each step must come later"):
        parse_config(data, "config.yaml")
    data["alerts"]["escalation"]["urgent"] = [{"after_minutes": 5, "notify": []}]
    with pytest.raises(ConfigError, match="notify"):
        parse_config(data, "config.yaml")


async def test_two_members_of_one_service_pressing_at_once_make_one_acknowledgement(liaison):
    await liaison.member("Awa", service="customs")
    await liaison.member("Ali", service="health")
    await liaison.member("Binta", service="health")
    async with liaison.session() as session:
        members = {m.display_name: m for m in (await session.exec(select(Member))).all()}
    now = liaison.clock.now()
    async with liaison.db.transaction() as session:
        alert = Alert(
            client_token="t",
            post_code="NE-KONNI",
            author_member_id=members["Awa"].id,
            category="health",
            severity="urgent",
            text="x",
            posts=["NE-KONNI"],
            required=["NE-KONNI/health"],
            raised_at=now,
        )
        session.add(alert)
        await session.flush()
        alert_id = alert.id

    async def press(name: str, kind: AckKind) -> str:
        async with liaison.db.transaction() as session:
            row = await session.get(Alert, alert_id)
            _, outcome = await acknowledge(
                session,
                alert=row,
                post_code="NE-KONNI",
                service_code="health",
                member_id=members[name].id,
                kind=kind,
                now=now,
            )
            return outcome

    outcomes = await asyncio.gather(press("Ali", AckKind.SEEN), press("Binta", AckKind.SEEN))
    assert sorted(outcomes) == ["already", "first"]
    assert await press("Binta", AckKind.ACTION) == "upgraded"
    assert await press("Ali", AckKind.ACTION) == "already"
    async with liaison.session() as session:
        row = await session.get(Alert, alert_id)
        acks = await list_acks(session, alert_id=alert_id)
    assert len(acks) == 1 and acks[0].kind == "action" and pending_required(row, acks) == []


async def test_an_escalation_racing_an_acknowledgement_never_escalates_the_acknowledged_service(liaison):
    from types import SimpleNamespace

    from db.audit import AuditEntry
    from handlers.alerts.escalation import run_escalation
    from handlers.alerts.service import acknowledge

    author = await liaison.member("Awa", service="customs")
    health = await liaison.member("Ali", service="health")
    for round_ in range(6):
        await author.send(f"/alert urgent health: case {round_}")
        await liaison.settle()
    async with liaison.session() as session:
        members = {m.telegram_id: m for m in (await session.exec(select(Member))).all()}
    runtime = liaison.runtime
    ali = members[health.id]

    async def ack(alert_id: int) -> None:
        async with runtime.db.transaction() as session:
            await acknowledge(session, runtime, alert_id=alert_id, member=ali, kind=AckKind.SEEN)

    async def escalate(alert_id: int) -> None:
        async with runtime.db.transaction() as session:
            job = SimpleNamespace(payload={"alert_id": alert_id, "step": 1})
            await run_escalation(session, job, runtime=runtime, due_at=liaison.clock.now(), late=False)

    for alert_id in range(1, 7):
        # Both orders, started together: whichever commits first, the other sees it.
        pair = (ack(alert_id), escalate(alert_id)) if alert_id % 2 else (escalate(alert_id), ack(alert_id))
        await asyncio.gather(*pair)
    entries = await liaison.rows(AuditEntry, AuditEntry.object_type == "alert")
    for alert_id in range(1, 7):
        seen = next(e for e in entries if e.action == "alert.seen" and e.object_id == str(alert_id))
        escalations = [e for e in entries if e.action == "alert.escalated" and e.object_id == str(alert_id)]
        # Serialised on the alert's row: an escalation either committed before the acknowledgement (and named
        # Health), or it ran after and found nothing to escalate.
        assert all(e.id < seen.id and e.details["pending"] == ["NE-KONNI/health"] for e in escalations)
    # Which side wins each race depends on the database's scheduling (PostgreSQL often lets the
    # acknowledgement through first every time); the control proves the escalation itself is live.
    await author.send("/alert urgent health: control")
    await liaison.settle()
    await escalate(7)
    control = await liaison.rows(
        AuditEntry, AuditEntry.action == "alert.escalated", AuditEntry.object_id == "7"
    )
    assert [e.details["pending"] for e in control] == [["NE-KONNI/health"]]
    await liaison.settle()


def test_an_escalation_excerpt_ends_between_words_and_is_escaped() -> None:
    """The alert's text quoted in an escalation notice: cut after a whole word, never inside '&amp;'."""
    from handlers.alerts.render import excerpt

    alert = Alert(text="Camion & remorque " + "véhicule suspect " * 30, post_code="NE-KONNI")
    quoted = excerpt(alert, limit=58)  # the old cut: "...suspect véhic…"
    assert quoted.startswith("Camion &amp; remorque véhicule suspect")
    assert quoted.endswith("suspect…") and len(quoted) <= 58 + len("amp;")
