"""/delivery: who received the last notifications, and who cannot be reached.

Chiefs see their post; coordinators every post's unreachable members.
"""

from __future__ import annotations

from telegram import Update

from bot.runtime import LiaisonContext
from handlers.delivery import render, service


async def delivery_command(update: Update, context: LiaisonContext) -> None:
    """Show delivery figures: the chief's own post, or every post for coordinators."""
    member, tr, message, runtime = (
        context.active_member,
        context.tr,
        update.effective_message,
        context.runtime,
    )
    assert message is not None
    config = runtime.config
    if service.sees_every_post(member):
        async with runtime.db.reading() as session:
            posts = [
                await service.post_delivery(session, post_code=post.code, with_tallies=False)
                for post in config.posts
            ]
        await message.reply_text(render.overview(config, runtime.features, tr, posts))
        return
    if member.post_code is None:
        await message.reply_text(tr.gettext("You are not allowed to do this."))
        return
    async with runtime.db.reading() as session:
        own = await service.post_delivery(session, post_code=member.post_code, with_tallies=True)
    await message.reply_text(render.post_report(config, runtime.features, tr, own, with_tallies=True))
