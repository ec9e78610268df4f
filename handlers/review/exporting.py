"""The export buttons of a /log page: the view's entries as a CSV or XLSX file, sent as a document.

The file is written in a temporary folder, streaming (see export.py): the bot keeps answering everyone while
it grows. Past Telegram's 50 MB upload limit the export stops and the reader gets the command that produces
it on the server instead.
"""

from __future__ import annotations

import html
import logging
import tempfile
from pathlib import Path

from telegram import Update

from bot.i18n import N_
from bot.replies import answer
from bot.runtime import LiaisonContext
from db.review import ReviewView
from handlers.review import export, service

logger = logging.getLogger(__name__)

TOO_BIG = N_(
    "This export is larger than the {limit} Telegram lets a bot send. Narrow the period, the kind or the "
    "service, or ask an administrator to run on the server:\n{command}"
)
EMPTY = N_("Nothing to export: no entry in this period.")
# What a bot may upload (tests lower it to see the refusal).
LIMIT = export.TELEGRAM_LIMIT
# Telegram gives a bot this long to upload a document (a 50 MB file on a slow uplink).
UPLOAD_TIMEOUT = 300


def request_of(context: LiaisonContext, view: ReviewView, fmt: str) -> export.ExportRequest:
    """The export of what a view shows, in the reader's language, within what they may read now."""
    return export.ExportRequest(
        since=view.since,
        until=view.until,
        posts=service.view_posts(context.active_member, view),
        kind=view.kind,
        service=view.service_code,
        language=context.tr.language,
        fmt=fmt,
    )


async def export_button(update: Update, context: LiaisonContext, view: ReviewView, fmt: str) -> None:
    """Write the view's entries and send the file (or say why not)."""
    query, runtime, tr = update.callback_query, context.runtime, context.tr
    assert query is not None and update.effective_chat is not None
    if fmt not in ("csv", "xlsx"):
        await answer(query, tr.gettext("This button is no longer valid."), alert=True)
        return
    await answer(query, tr.gettext("⏳ Preparing the file…"))
    request = request_of(context, view, fmt)
    limit = LIMIT
    with tempfile.TemporaryDirectory(prefix="liaison-export-") as folder:
        path = Path(folder) / export.file_name(runtime, request)
        async with runtime.db.reading() as session:
            result = await export.write_export(session, runtime, request, path, max_bytes=limit)
        if result.too_big:
            await update.effective_chat.send_message(
                html.escape(
                    tr.gettext(TOO_BIG).format(
                        limit=_size(context, limit), command=export.cli_command(runtime, request)
                    )
                )
            )
            return
        if not result.rows:
            await update.effective_chat.send_message(html.escape(tr.gettext(EMPTY)))
            return
        caption = tr.ngettext("📎 {n} entry · {filter}", "📎 {n} entries · {filter}", result.rows).format(
            n=tr.number(result.rows), filter=html.unescape(_filter_text(context, view))
        )
        with path.open("rb") as handle:
            await update.effective_chat.send_document(
                document=handle,
                filename=path.name,
                caption=html.escape(caption)[:1000],
                write_timeout=UPLOAD_TIMEOUT,
            )
    logger.info("Export of %s entries (%s, %s bytes) sent", result.rows, fmt, result.size)


def _size(context: LiaisonContext, size: int) -> str:
    """'50 MB' / '50 Mo' the reader's way."""
    from babel.units import format_unit

    if size >= 1024 * 1024:
        return format_unit(
            size // (1024 * 1024), "digital-megabyte", length="short", locale=context.tr.language
        )
    return format_unit(max(1, size // 1024), "digital-kilobyte", length="short", locale=context.tr.language)


def _filter_text(context: LiaisonContext, view: ReviewView) -> str:
    from handlers.review.render import filter_line

    return filter_line(context.tr, context.runtime, view)
