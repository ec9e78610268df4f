"""Exports of the review log, without Telegram: CSV that a French spreadsheet opens right, and XLSX.

Both stream: entries are read a batch at a time (keyset), and each batch is turned into rows and written in a
worker thread, so a year of every post (a million entries) takes bounded memory and the event loop keeps
serving everyone else while the file grows.

XLSX is written with XlsxWriter in `constant_memory` mode: each sheet's rows go to a temporary file as they
are written (openpyxl's write-only mode streams too but is several times slower, and its normal mode holds
every cell in memory). One sheet per kind of entry, typed date and number cells, a frozen header, set widths.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import csv
import functools
import json
import os
import re
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.features import LogKind
from bot.i18n import N_, Translator, translator
from bot.runtime import Runtime
from db import review as store
from db.members import member_names
from db.review import EntryFilter, LoggedEntry, logged
from handlers.review import service

# Telegram's upload limit for bots.
TELEGRAM_LIMIT = 50 * 1024 * 1024
# Excel's last row (the header takes one): a kind with more entries continues on another sheet.
XLSX_ROWS = 1_048_575
# Rows per read: the event loop turns each batch's rows into Python values itself, so keep it short.
BATCH = 500
YIELD_EVERY = 25
EXPORT_NICENESS = 10
OTHER = N_("Other")
COLUMNS = (
    # (untranslated header, width in characters)
    (N_("Local time"), 17),
    (N_("Zone"), 7),
    (N_("UTC time"), 17),
    (N_("Post"), 16),
    (N_("Kind"), 14),
    (N_("Action"), 20),
    (N_("Service"), 16),
    (N_("By"), 20),
    (N_("Summary"), 60),
    (N_("Object"), 14),
    (N_("Entry"), 9),
    (N_("Details"), 50),
)


@dataclass(frozen=True)
class ExportRequest:
    """What to export: posts (None: every post), a window, a kind, a service, the reader's language."""

    since: datetime
    until: datetime
    posts: tuple[str, ...] | None = None
    kind: str | None = None
    service: str | None = None
    language: str = "fr"
    fmt: str = "csv"


@dataclass
class ExportResult:
    """What was written: how many entries, the file's size, and whether it stopped at the size limit."""

    path: Path
    rows: int = 0
    size: int = 0
    too_big: bool = False
    sheets: list[str] = field(default_factory=list)


class Line(NamedTuple):
    """One entry as the cells of a row (prepared in the worker thread)."""

    local: datetime
    zone: str
    utc: datetime
    post: str
    kind: str
    action: str
    service: str
    who: str
    summary: str
    subject: str
    entry_id: int
    details: str
    kinds: tuple[str, ...]


class _Cells:
    """Turns entries into rows, remembering what repeats (a post's zone and name, a service's name, the
    kinds of an action): an export formats the same few of them a million times."""

    def __init__(self, runtime: Runtime, tr: Translator, kinds: tuple[LogKind, ...], names: dict[int, str]):
        self.runtime, self.tr, self.kinds, self.names = runtime, tr, kinds, names
        self.posts: dict[str | None, tuple[ZoneInfo, str]] = {}
        self.services: dict[str | None, str] = {}
        self.by_action: dict[str, tuple[tuple[LogKind, ...], tuple[LogKind, ...]]] = {}
        self.labels = {k.key: tr.gettext(k.label) for k in kinds}

    def _post(self, code: str | None) -> tuple[ZoneInfo, str]:
        if code not in self.posts:
            zone = service.view_zone(self.runtime, code)
            self.posts[code] = (ZoneInfo(zone), self.runtime.config.post_name(code) if code else "")
        return self.posts[code]

    def _service(self, code: str | None) -> str:
        if code not in self.services:
            self.services[code] = self.runtime.config.service_name(code, self.tr.language) if code else ""
        return self.services[code]

    def line(self, entry: LoggedEntry) -> Line:
        """The row of one entry."""
        zone, post = self._post(entry.post_code)
        if entry.action not in self.by_action:
            candidates = tuple(k for k in self.kinds if entry.action.startswith(k.action_prefixes))
            self.by_action[entry.action] = (
                tuple(k for k in candidates if k.only is None),
                tuple(k for k in candidates if k.only is not None),
            )
        plain, conditional = self.by_action[entry.action]
        matching = plain + tuple(k for k in conditional if k.only(entry))  # type: ignore[misc, arg-type]
        order = {k.key: i for i, k in enumerate(self.kinds)}
        matching = tuple(sorted(matching, key=lambda k: order[k.key])) if conditional else matching
        first = matching[0] if matching else None
        local = entry.at.astimezone(zone)
        offset = int((local.utcoffset() or timedelta(0)).total_seconds() // 60)
        hours, minutes = divmod(abs(offset), 60)
        label = f"UTC{'+' if offset >= 0 else '-'}{hours}" + (f":{minutes:02d}" if minutes else "")
        return Line(
            local.replace(tzinfo=None),
            label,
            entry.at.astimezone(UTC).replace(tzinfo=None),
            post,
            self.labels[first.key] if first else "",
            entry.action,
            self._service(entry.service_code),
            self.names.get(entry.actor_member_id, "") if entry.actor_member_id else "",
            service.summary_of(self.runtime, entry, self.tr, first),  # type: ignore[arg-type]
            f"{entry.object_type} #{entry.object_id}" if entry.object_type else "",
            entry.id,
            json.dumps(entry.details or {}, ensure_ascii=False, sort_keys=True),
            tuple(k.key for k in matching),
        )


def _background_thread() -> None:
    """Exports run at a lower scheduling priority than the event loop's thread (Linux lets a thread have its
    own nice value): on a busy machine the OS then gives the loop its turn first."""
    # Not Linux, or not allowed: the hand-backs of the GIL still apply.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), EXPORT_NICENESS)


# Export threads of their own (never the default pool's: their lowered priority would stay with them).
_POOL: concurrent.futures.ThreadPoolExecutor | None = None


async def _off_loop(function: Callable[..., Any], *args: Any, background: bool = True) -> Any:
    """Run a piece of an export in an export thread (in the default pool when the export is the process's
    only work: the command line)."""
    global _POOL
    if not background:
        return await asyncio.to_thread(function, *args)
    if _POOL is None:
        _POOL = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="liaison-export", initializer=_background_thread
        )
    return await asyncio.get_running_loop().run_in_executor(_POOL, functools.partial(function, *args))


class _CsvWriter:
    """UTF-8 with a BOM (so Excel reads the accents) and the reader's separator."""

    def __init__(self, path: Path, tr: Translator, separator: str) -> None:
        self.handle = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.handle, delimiter=separator, quoting=csv.QUOTE_MINIMAL)
        self.writer.writerow([tr.gettext(name) for name, _width in COLUMNS])
        self.sheets: list[str] = []

    def write(self, lines: list[Line]) -> None:
        for line in lines:
            self.writer.writerow(
                [
                    line.local.isoformat(" ", "seconds"),
                    line.zone,
                    line.utc.isoformat(" ", "seconds"),
                    line.post,
                    line.kind,
                    line.action,
                    line.service,
                    line.who,
                    line.summary,
                    line.subject,
                    line.entry_id,
                    line.details,
                ]
            )
        self.handle.flush()

    def written(self) -> int:
        """The file's size so far."""
        return self.handle.tell()

    def close(self) -> int:
        size = self.handle.tell()
        self.handle.close()
        return size

    def abandon(self) -> None:
        """Stop writing (the partial file is the caller's to remove)."""
        self.handle.close()


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _deflater() -> Any:
    """A deflater as the zip module makes one for XlsxWriter's ZIP_DEFLATED members (raw, default level)."""
    return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)


class _XlsxWriter:
    """One sheet per kind (and one for entries of no kind), each row written once, in order.

    With `track`, `written()` tells how large the file already is. In constant_memory mode XlsxWriter appends
    each sheet's rows, as the XML they end up as, to a temporary file in the folder it is given (a private
    one here), and at close deflates each of those files into the zip: we deflate the same bytes as they are
    appended, as the zip does, so an export past Telegram's limit stops at the batch that crossed it instead
    of after a year of entries. The measure misses only each sheet's last buffered row, the sheets' opening
    and closing tags and the zip's small fixed parts (a few kB): the file's size is checked again once it is
    closed, and a file that fits is not refused.
    """

    def __init__(
        self, path: Path, tr: Translator, kinds: tuple[LogKind, ...], *, track: bool = False
    ) -> None:
        import xlsxwriter  # imported when an export is asked for: the bot's resident memory stays small

        self.tr = tr
        # The sheets' row files, alone in a folder of their own (the one the file goes to: same disk).
        self.tmpdir = Path(tempfile.mkdtemp(prefix=".liaison-xlsx-", dir=path.parent))
        self.book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "tmpdir": str(self.tmpdir), "strings_to_numbers": False}
        )
        self.track = track
        # Per row file: how many of its bytes were deflated, the deflater, and its output so far.
        self.measured: dict[str, tuple[int, Any, int]] = {}
        self.header = self.book.add_format({"bold": True, "bg_color": "#DDE5F0", "border": 1})
        self.when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.wrap = self.book.add_format({"text_wrap": False})
        self.labels = {k.key: tr.gettext(k.label) for k in kinds}
        self.sheets: dict[str, tuple[Any, int]] = {}
        self.names: list[str] = []
        for kind in kinds:
            self._open(kind.key)

    def _open(self, key: str, part: int = 1) -> Any:
        label = self.labels.get(key, self.tr.gettext(OTHER))
        name = _SHEET_FORBIDDEN.sub(" ", label)[:28] + (f" {part}" if part > 1 else "")
        sheet = self.book.add_worksheet(name)
        for index, (title, width) in enumerate(COLUMNS):
            sheet.set_column(index, index, width)
            sheet.write_string(0, index, self.tr.gettext(title), self.header)
        sheet.freeze_panes(1, 0)
        self.sheets[key] = (sheet, 1)
        self.names.append(name)
        self._parts = getattr(self, "_parts", {})
        self._parts[key] = part
        return sheet

    def _row(self, key: str) -> tuple[Any, int]:
        if key not in self.sheets:
            self._open(key)
        sheet, row = self.sheets[key]
        if row > XLSX_ROWS:
            sheet = self._open(key, self._parts[key] + 1)
            row = 1
        self.sheets[key] = (sheet, row + 1)
        return sheet, row

    def write(self, lines: list[Line]) -> None:
        for line in lines:
            for key in line.kinds or ("",):
                sheet, row = self._row(key)
                sheet.write_datetime(row, 0, line.local, self.when)
                sheet.write_string(row, 1, line.zone)
                sheet.write_datetime(row, 2, line.utc, self.when)
                sheet.write_string(row, 3, line.post)
                sheet.write_string(row, 4, line.kind)
                sheet.write_string(row, 5, line.action)
                sheet.write_string(row, 6, line.service)
                sheet.write_string(row, 7, line.who)
                sheet.write_string(row, 8, line.summary)
                sheet.write_string(row, 9, line.subject)
                sheet.write_number(row, 10, line.entry_id)
                sheet.write_string(row, 11, line.details)

    def written(self) -> int:
        """The deflated size of every row written so far (0 without `track`)."""
        if not self.track:
            return 0
        total = 0
        with os.scandir(self.tmpdir) as files:
            found = [(entry.name, entry.path) for entry in files]
        for name, file in found:
            done, deflater, size = self.measured.get(name) or (0, _deflater(), 0)
            with open(file, "rb") as handle:
                handle.seek(done)
                while chunk := handle.read(1 << 20):
                    done += len(chunk)
                    size += len(deflater.compress(chunk))
            self.measured[name] = (done, deflater, size)
            # What the rows so far deflate to, the deflater's pending block included (flushed on a copy).
            total += size + len(deflater.copy().flush())
        return total

    def close(self) -> int:
        try:
            self.book.close()
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        return 0

    def abandon(self) -> None:
        """Drop the file without assembling it (that would deflate every row again, for nothing)."""
        for sheet in self.book.worksheets():
            # XlsxWriter's own: close the sheet's row file (left open, it would close when collected).
            with contextlib.suppress(AttributeError, OSError):
                sheet._opt_close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    @property
    def sheet_names(self) -> list[str]:
        return list(self.names)


async def entry_filter(session: AsyncSession, runtime: Runtime, request: ExportRequest) -> EntryFilter:
    """The database filter of an export (a kind's actions expanded; its own condition applies later)."""
    kind = service.kind_named(runtime, request.kind)
    actions: tuple[str, ...] | None = None
    if kind is not None:
        actions = tuple(await store.distinct_actions(session, prefixes=kind.action_prefixes))
    return EntryFilter(
        since=request.since,
        until=request.until,
        posts=request.posts,
        actions=actions,
        service=request.service,
    )


async def write_export(
    session: AsyncSession,
    runtime: Runtime,
    request: ExportRequest,
    path: Path,
    *,
    max_bytes: int | None = None,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    background: bool = True,
) -> ExportResult:
    """Write a request's entries to `path` (CSV or XLSX), streaming. Past `max_bytes` it stops at the end of
    the batch that crossed it (`too_big`): a CSV is left as far as it went, an XLSX is never assembled."""
    tr = translator(request.language)
    kinds = service.kinds(runtime)
    kind = service.kind_named(runtime, request.kind)
    flt = await entry_filter(session, runtime, request)
    sheet_kinds = (kind,) if kind is not None else kinds
    writer: _CsvWriter | _XlsxWriter
    if request.fmt == "xlsx":
        writer = await _off_loop(
            functools.partial(_XlsxWriter, track=max_bytes is not None),
            path,
            tr,
            sheet_kinds,
            background=background,
        )
    else:
        writer = await _off_loop(
            _CsvWriter, path, tr, runtime.config.review.separator(request.language), background=background
        )
    result = ExportResult(path=path)
    names: dict[int, str] = {}
    subjects: dict[int, tuple[str, str | None]] = {}
    cells = _Cells(runtime, tr, sheet_kinds, names)

    def render(rows: list[tuple[Any, ...]]) -> int:
        for start in range(0, len(rows), YIELD_EVERY):
            lines = []
            for row in rows[start : start + YIELD_EVERY]:
                entry = service.with_subject(logged(row), subjects)
                if kind is None or kind.only is None or kind.only(entry):  # type: ignore[arg-type]
                    lines.append(cells.line(entry))
            result.rows += len(lines)
            writer.write(lines)
            # Hand the interpreter back to the event loop every few rows (an XLSX row is a dozen cells, some
            # 0.3 ms): this thread is pure Python, and the loop would otherwise queue for the GIL again and
            # again.
            time.sleep(0)
        return writer.written() if max_bytes is not None else 0

    finished = False
    try:
        async for entries in store.stream_entries(session, flt=flt, batch=batch):
            wanted = {row[2] for row in entries if row[2] and row[2] not in names}
            if wanted:
                names.update(await member_names(session, member_ids=wanted))
            # The members entries are about (the row's object type and id): named and placed in their service.
            about = [logged(row) for row in entries if row[5] == "member"]
            if about:
                subjects.update(await service.member_subjects(session, about))
            size = await _off_loop(render, entries, background=background)
            if progress is not None:
                progress(result.rows)
            if max_bytes is not None and size > max_bytes:
                result.too_big, result.size = True, size
                break
        finished = not result.too_big
    finally:
        if finished:
            await _off_loop(writer.close, background=background)
        else:
            # Refused, failed or cancelled: nothing more to write (an XLSX would deflate every row again).
            await _off_loop(writer.abandon, background=background)
    if result.too_big:
        return result
    result.size = await _off_loop(lambda: path.stat().st_size if path.exists() else 0, background=background)
    if max_bytes is not None and result.size > max_bytes:
        result.too_big = True
    result.sheets = writer.sheet_names if isinstance(writer, _XlsxWriter) else []
    return result


def days_of(runtime: Runtime, request: ExportRequest) -> tuple[str, str]:
    """The first and last day of a request, ISO, in the zone its window was read in."""
    zone = ZoneInfo(
        service.view_zone(runtime, request.posts[0] if request.posts and len(request.posts) == 1 else None)
    )
    first = request.since.astimezone(zone).date()
    last = (request.until.astimezone(zone) - timedelta(seconds=1)).date()
    return first.isoformat(), last.isoformat()


def file_name(runtime: Runtime, request: ExportRequest) -> str:
    """liaison-log-NE-KONNI-2026-11-16-2026-11-22.csv"""
    where = "-".join(request.posts) if request.posts else "all"
    first, last = days_of(runtime, request)
    return f"liaison-log-{where}-{first}-{last}.{request.fmt}"


def cli_command(runtime: Runtime, request: ExportRequest) -> str:
    """The command that produces the same export on the server (for exports too big for Telegram)."""
    parts = ["liaison export"]
    for post in request.posts or ():
        parts.append(f"--post {post}")
    first, last = days_of(runtime, request)
    parts += [f"--since {first}", f"--until {last}"]
    if request.kind:
        parts.append(f"--kind {request.kind}")
    if request.service:
        parts.append(f"--service {request.service}")
    parts += [
        f"--language {request.language}",
        f"--format {request.fmt}",
        f"-o {file_name(runtime, request)}",
    ]
    return " ".join(parts)
