"""A first end-to-end check of the harness: an agent joins through an invite."""

from db.members import Member


async def test_agent_joins_with_invite(liaison):
    agent = await liaison.member("Awa", post="NE-KONNI", service="customs", language="fr")
    assert "Bienvenue" in agent.last.text or "Welcome" in agent.last.text
    rows = await liaison.rows(Member)
    assert [(m.display_name, m.post_code, m.service_code, m.role) for m in rows] == [
        ("Awa", "NE-KONNI", "customs", "agent")
    ]
