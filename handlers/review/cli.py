"""`liaison export`: the review log of some posts and days as CSV or XLSX, on the server (no size limit)."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from bot.runtime import Runtime
from handlers.review import export, service


def _fail(message: str) -> int:
    print(f"liaison: error: {message}", file=sys.stderr)
    return 2


async def run_export(runtime: Runtime, args: Any) -> int:
    """Write the export asked for on the command line; one line on success, one line on a bad argument."""
    config = runtime.config
    posts = tuple(args.post) if args.post else None
    for code in posts or ():
        if config.find_post(code) is None:
            return _fail(f"--post: unknown post {code!r} (posts: {', '.join(p.code for p in config.posts)})")
    if args.kind and service.kind_named(runtime, args.kind) is None:
        known = ", ".join(k.key for k in service.kinds(runtime))
        return _fail(f"--kind: unknown kind {args.kind!r} (kinds: {known})")
    if args.service and all(s.code != args.service for s in config.services):
        return _fail(f"--service: unknown service {args.service!r}")
    try:
        first, last = date.fromisoformat(args.since), date.fromisoformat(args.until)
    except ValueError:
        return _fail(
            "--since and --until are days written YYYY-MM-DD, e.g. --since 2026-11-16 --until 2026-11-22"
        )
    if last < first:
        return _fail("--until comes before --since")
    zone = service.view_zone(runtime, posts[0] if posts and len(posts) == 1 else None)
    since, until = service.dates_window(first, last, zone)
    request = export.ExportRequest(
        since=since,
        until=until,
        posts=posts,
        kind=args.kind,
        service=args.service,
        language=args.language,
        fmt=args.format,
    )
    path = Path(args.output)
    started = time.perf_counter()
    async with runtime.db.reading() as session:
        result = await export.write_export(session, runtime, request, path, background=False)
    elapsed = time.perf_counter() - started
    print(
        f"wrote {result.rows} entries to {path} ({result.size / 1_048_576:.1f} MB, {args.format}) "
        f"in {elapsed:.1f} s"
        f" ({zone}, {first} to {last})"
    )
    return 0
