"""What /delivery reads: how the latest notifications reached people."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.outbox.model import CARD_ACTIONS, OUTBOX, DeliveryState


class DeliveryTally(SQLModel):
    """How one thing (an alert, a notice...) reached people: counts of rows by state, edits left out."""

    ref_type: str
    ref_id: int
    first_at: datetime
    sent: int = 0
    pending: int = 0
    failed: int = 0
    unreachable: int = 0

    @property
    def total(self) -> int:
        """Messages queued for it."""
        return self.sent + self.pending + self.failed + self.unreachable


async def delivery_tallies(
    session: AsyncSession, *, member_ids: list[int] | None = None, limit: int = 5
) -> list[DeliveryTally]:
    """Delivery counts for the most recent referenced notifications, optionally only to some members."""
    outbox = OUTBOX.c
    base: list[ColumnElement[bool]] = [
        outbox.ref_type.is_not(None),
        outbox.ref_id.is_not(None),
        outbox.method.not_in(CARD_ACTIONS),
        outbox.state != DeliveryState.SUPERSEDED,
    ]
    if member_ids is not None:
        base.append(outbox.member_id.in_(member_ids))
    recent = (
        select(
            outbox.ref_type,
            outbox.ref_id,
            func.min(outbox.created_at).label("first_at"),
            func.max(outbox.id).label("last_id"),
        )
        .where(*base)
        .group_by(outbox.ref_type, outbox.ref_id)
        .order_by(func.max(outbox.id).desc())
        .limit(limit)
    )
    refs = (await session.exec(recent)).all()
    tallies: list[DeliveryTally] = []
    for ref_type, ref_id, first_at, _last in refs:
        counts = (
            await session.exec(
                select(outbox.state, func.count(outbox.id))
                .where(*base, outbox.ref_type == ref_type, outbox.ref_id == ref_id)
                .group_by(outbox.state)
            )
        ).all()
        tally = DeliveryTally(ref_type=ref_type, ref_id=ref_id, first_at=first_at)
        for state, count in counts:
            if state == DeliveryState.SENT:
                tally.sent += count
            elif state in (DeliveryState.PENDING, DeliveryState.SENDING):
                tally.pending += count
            elif state == DeliveryState.FAILED:
                tally.failed += count
            elif state == DeliveryState.UNREACHABLE:
                tally.unreachable += count
        tallies.append(tally)
    return tallies
