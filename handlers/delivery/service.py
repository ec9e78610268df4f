"""Delivery status, without Telegram: whose figures a member reads, and a post's notifications and members."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.access import is_global
from db.members import Member, list_members
from db.outbox.reporting import DeliveryTally, delivery_tallies
from db.schedules import get_jobs

# A scheduled job's notifications (a reminder) are named by their words: a row id means nothing to a chief.
SCHEDULE_REF = "schedule"

RECENT = 5  # notifications shown: enough to spot a problem, short enough for a phone screen


@dataclass(frozen=True)
class PostDelivery:
    """One post's members (suspended ones too) and how its last notifications reached them."""

    post_code: str
    members: list[Member]
    # Empty when not asked for (a coordinator's overview shows only who cannot be reached).
    tallies: list[DeliveryTally]
    # The words of the reminders among the tallies, by job id (a text, or a text per language).
    quotes: dict[int, Any] = field(default_factory=dict)

    @property
    def unreachable(self) -> list[Member]:
        """The members who blocked the bot."""
        return [m for m in self.members if not m.reachable]


def sees_every_post(member: Member) -> bool:
    """Coordinators read every post's unreachable members; a chief reads their own post in full."""
    return is_global(member)


async def post_delivery(session: AsyncSession, *, post_code: str, with_tallies: bool) -> PostDelivery:
    """A post's members and, when asked, the tallies of the last notifications sent to them."""
    members = await list_members(session, post_code=post_code, include_inactive=True)
    tallies = (
        await delivery_tallies(session, member_ids=[m.id for m in members if m.id is not None], limit=RECENT)
        if with_tallies and members
        else []
    )
    # The reminders among them are quoted by their words: one read for all of them.
    job_ids = {tally.ref_id for tally in tallies if tally.ref_type == SCHEDULE_REF}
    jobs = await get_jobs(session, job_ids=job_ids) if job_ids else []
    quotes: dict[int, Any] = {
        job.id: job.payload["text"] for job in jobs if job.id and job.payload.get("text")
    }
    return PostDelivery(post_code, members, tallies, quotes)
