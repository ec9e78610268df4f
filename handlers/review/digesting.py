"""Digests: /digest on demand (this week so far), and the weekly (and daily) digest every coordinator
receives at the configured time in their zone, in their language, with a chart.

One schedule row per cadence and zone (`rv:digest:<cadence>:<zone>`, a cron in that zone) sends the digest
to the coordinators who read that zone; rows follow config.yaml at start (changed times move them).
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot.access import review_posts
from bot.runtime import LiaisonContext, Runtime
from bot.scheduler.mirror import mirror_config_jobs
from db.members import Member, list_coordinators
from db.outbox import Priority, enqueue_message
from db.schedules import ScheduledJob
from handlers.review import digest as figures

logger = logging.getLogger(__name__)

KIND = "review_digest"
KEY_PREFIX = "rv:digest:"


def digest_zone(runtime: Runtime, member: Member) -> str:
    """The zone a member's digests are timed and read in: their post's, else the coordinators' zone."""
    if member.post_code and runtime.config.find_post(member.post_code) is not None:
        return runtime.config.post_zone(member.post_code)
    return runtime.config.review.timezone


def digest_posts(runtime: Runtime, member: Member) -> list[str]:
    """The configured posts whose figures a member may receive (never another post's for a chief)."""
    scope = review_posts(member)
    codes = [p.code for p in runtime.config.posts]
    return codes if scope is None else [c for c in codes if c in scope]


# ----- on demand --------------------------------------------------------------------------------------------


async def digest_command(update: Update, context: LiaisonContext) -> None:
    """/digest: this week's figures so far, for the posts the reader may read, with the chart."""
    member, runtime, tr, message = (
        context.active_member,
        context.runtime,
        context.tr,
        update.effective_message,
    )
    assert message is not None
    zone = digest_zone(runtime, member)
    async with runtime.db.reading() as session:
        digest = await figures.compute_digest(
            session,
            runtime,
            posts=digest_posts(runtime, member),
            cadence="current",
            zone=zone,
            now=runtime.clock.now(),
        )
    for text in figures.digest_messages(tr, runtime, digest):
        await message.reply_text(text)
    if figures.has_chart(digest):
        png = await asyncio.to_thread(figures.render_chart, tr, runtime, digest)
        await message.reply_photo(photo=png, caption=html.escape(figures.chart_caption(tr, digest)))


# ----- scheduled --------------------------------------------------------------------------------------------


async def run_digest(
    session: AsyncSession, job: ScheduledJob, *, runtime: Runtime, due_at: datetime, late: bool
) -> None:
    """Send a cadence's digest to every active coordinator of the row's zone (figures as of its due time)."""
    cadence, zone = str(job.payload.get("cadence")), str(job.payload.get("zone"))
    if cadence not in ("weekly", "daily"):
        return
    readers = [m for m in await list_coordinators(session) if digest_zone(runtime, m) == zone]
    if not readers:
        return
    posts = [p.code for p in runtime.config.posts]
    digest = await figures.compute_digest(
        session, runtime, posts=posts, cadence=cadence, zone=zone, now=due_at
    )
    rendered: dict[str, tuple[list[str], bytes | None, str]] = {}
    for member in readers:
        tr = runtime.translator_for(member)
        if tr.language not in rendered:
            png = (
                await asyncio.to_thread(figures.render_chart, tr, runtime, digest)
                if figures.has_chart(digest)
                else None
            )
            caption = html.escape(figures.chart_caption(tr, digest))
            rendered[tr.language] = (figures.digest_messages(tr, runtime, digest), png, caption)
        texts, png, caption = rendered[tr.language]
        for text in texts:
            await enqueue_message(
                session,
                chat_id=member.chat_id,
                text=text,
                priority=Priority.BULK,
                member_id=member.id,
                ref=("digest", job.id or 0),
                now=runtime.clock.now(),
            )
        if png is not None:
            await send_chart(session, runtime, member, png, caption, job)
    logger.info("Sent the %s digest to %d coordinators (%s)", cadence, len(readers), zone)


async def send_chart(
    session: AsyncSession, runtime: Runtime, member: Member, png: bytes, caption: str, job: ScheduledJob
) -> None:
    """Queue the chart as a photo upload."""
    await enqueue_message(
        session,
        chat_id=member.chat_id,
        text=caption,
        photo_upload=("digest.png", png),
        priority=Priority.BULK,
        member_id=member.id,
        ref=("digest", job.id or 0),
        now=runtime.clock.now(),
    )


def wanted_rows(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """The digest rows config.yaml asks for: one per cadence and zone (the coordinators' zone, the posts')."""
    config = runtime.config
    zones = sorted({config.review.timezone, *(p.timezone for p in config.posts)})
    wanted: dict[str, dict[str, Any]] = {}
    cadences: list[tuple[str, dict[str, Any]]] = []
    if config.review.digest.weekly is not None:
        weekly = config.review.digest.weekly
        cadences.append(
            ("weekly", {"day_of_week": weekly.day, "hour": weekly.at.hour, "minute": weekly.at.minute})
        )
    if config.review.digest.daily is not None:
        daily = config.review.digest.daily
        cadences.append(("daily", {"hour": daily.at.hour, "minute": daily.at.minute}))
    for cadence, args in cadences:
        for zone in zones:
            wanted[f"{KEY_PREFIX}{cadence}:{zone}"] = {
                "kind": KIND,
                "trigger": "cron",
                "trigger_args": args,
                "timezone": zone,
                "payload": {"cadence": cadence, "zone": zone},
            }
    return wanted


async def on_start(session: AsyncSession, runtime: Runtime) -> None:
    """Mirror the configured digests into schedule rows (moved when the time changed, cancelled when off)."""
    await mirror_config_jobs(
        session, key_prefix=KEY_PREFIX, wanted=wanted_rows(runtime), now=runtime.clock.now()
    )
