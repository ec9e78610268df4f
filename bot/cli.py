"""The `liaison` command line: run, status, check-config, db, create-coordinator, backup, restore,
migrate-data, export, audit, emulator, sandbox, i18n."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError, load_config

EXIT_USAGE = 2


def _fail(message: str) -> int:
    """Print a one-line error and return the usage exit code."""
    print(f"liaison: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _token() -> str | None:
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    return token or None


def cmd_check_config(args: argparse.Namespace, config: Config) -> int:
    """Validate the configuration and summarise it."""
    print(
        f"{args.config or 'config.yaml'}: OK: {len(config.posts)} posts, {len(config.services)} services, "
        f"{len(config.reminders)} reminders, {len(config.alerts.categories)} alert categories"
    )
    return 0


def default_instance_id() -> str:
    """The machine's name: the same after a restart (unlike a random id), so a restarted instance takes
    back its own in-flight rows at once instead of waiting a lease for them."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "localhost"
    return f"liaison-{host}"[:64]


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """Run the bot (polling, or webhook when --webhook-url is given)."""
    token = _token()
    if token is None:
        return _fail("TELEGRAM_BOT_TOKEN is not set; export the token BotFather gave you and try again")
    from bot.lean_imports import import_telegram_ext_without_tornado

    import_telegram_ext_without_tornado()
    from bot.app import build_application, install_features
    from bot.features import FeatureConflict
    from bot.logs import configure_logging

    configure_logging(config.bot.log_level, secrets=[token, config.bot.database_url])
    # A stable instance id lets a restarted instance take back its own in-flight rows at once (PostgreSQL);
    # each running instance needs its own (two on one machine set LIAISON_INSTANCE_ID).
    instance_id = os.environ.get("LIAISON_INSTANCE_ID") or default_instance_id()
    secret = os.environ.get("LIAISON_WEBHOOK_SECRET", "").strip()
    if args.webhook_url and not secret:
        return _fail(
            "webhook mode needs LIAISON_WEBHOOK_SECRET (1-256 characters of A-Z a-z 0-9 _ -): Telegram sends "
            "it with every update, and calls without it are refused"
        )
    try:
        # A fault of the code (two features claiming one prefix, a menu entry without its French) is found
        # before the network or the database is touched, and told in one line.
        install_features(config)
    except FeatureConflict as conflict:
        return _fail(f"cannot install the features: {conflict}")
    from telegram.error import InvalidToken, NetworkError

    try:
        # One getMe before anything starts: a wrong token or an unreachable API is one clear line, not the
        # traceback PTB logs when its own start-up fails.
        asyncio.run(_bot_username(args))
    except InvalidToken:
        return _fail(
            "the Bot API rejected TELEGRAM_BOT_TOKEN (Unauthorized): check the token BotFather gave you"
        )
    except NetworkError as exc:
        where = args.api_url or "api.telegram.org"
        print(f"liaison: error: cannot reach the Bot API ({where}): {exc.message}", file=sys.stderr)
        return 1
    # Migrate in a child process: the bot then finds its database at head and never imports Alembic, which
    # a long-running process would otherwise carry for nothing (about 11 MiB).
    migrating = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            *(["--config", args.config] if args.config else []),
            "db",
            "upgrade",
        ],
        stdout=subprocess.DEVNULL,
        check=False,
    )
    if migrating.returncode != 0:
        return _fail("could not migrate the database (see the error above)")
    application = build_application(
        config, token=token, api_url=args.api_url, instance_id=instance_id, inbox=not args.no_inbox
    )
    _serve(application, args, secret)
    return 0


def _serve(application: Any, args: argparse.Namespace, secret: str) -> None:
    """Serve updates through the inbox, by webhook when a URL is given, else by long polling."""
    if args.no_inbox:
        # The benchmark's baseline only: PTB's own Updater, which confirms updates before handling them.
        application.run_polling(drop_pending_updates=False)
        return
    from bot.inbox.serve import WebhookSettings, serve

    webhook = (
        WebhookSettings(args.webhook_url, args.listen, args.port, args.url_path, secret)
        if args.webhook_url
        else None
    )
    asyncio.run(serve(application, webhook=webhook))


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    """Print what the admin needs to see at a glance: delivery, members, inbox, schedules."""
    from bot.status import status_report
    from db.engine import Database

    async def go() -> str:
        database = Database(config.bot.database_url)
        try:
            return await status_report(database, as_json=args.json)
        finally:
            await database.dispose()

    print(asyncio.run(go()))
    return 0


def cmd_db(args: argparse.Namespace, config: Config) -> int:
    """Migrate the database."""
    from db import migrate
    from db.engine import create_engine

    if args.action == "revision":
        if not args.message:
            return _fail("db revision needs a name: liaison db revision -m 'shift handovers'")
        path = asyncio.run(migrate.new_revision(args.message))
        print(f"wrote {path} (read it before committing: autogenerate misses renames and data moves)")
        return 0

    async def go() -> str | None:
        engine = create_engine(config.bot.database_url)
        try:
            if args.action == "upgrade":
                await migrate.upgrade(engine, args.revision or "head")
            elif args.action == "downgrade":
                await migrate.downgrade(engine, args.revision or "-1")
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    print(f"database at revision {asyncio.run(go())}")
    return 0


def cmd_create_coordinator(args: argparse.Namespace, config: Config) -> int:
    """Create the first coordinator (or admin) invite and print its deep link and code."""
    from db import migrate
    from db.engine import Database
    from db.onboarding import issue_invite
    from db.posts import sync_posts_and_services

    username = args.bot_username or os.environ.get("LIAISON_BOT_USERNAME") or asyncio.run(_bot_username(args))
    if not username:
        return _fail("cannot tell the bot's username: pass --bot-username or set TELEGRAM_BOT_TOKEN")

    async def go() -> tuple[str, datetime]:
        database = Database(config.bot.database_url)
        try:
            await migrate.upgrade(database.engine)
            now = datetime.now(UTC)
            expires = now + timedelta(hours=args.ttl_hours or config.invites.ttl_hours)
            async with database.transaction() as session:
                await sync_posts_and_services(session, config=config)
                _, issued = await issue_invite(
                    session,
                    role=args.role,
                    post_code=None,
                    service_code=None,
                    created_by=None,
                    now=now,
                    expires_at=expires,
                    via="cli",
                )
            assert issued is not None  # a new invite (no request key): its code
            return issued, expires
        finally:
            await database.dispose()

    code, expires = asyncio.run(go())
    print(f"Invite for a {args.role}, single use, valid until {expires:%Y-%m-%d %H:%M} UTC:")
    print(f"  link: https://t.me/{username}?start={code}")
    print(f"  code: {code}")
    return 0


async def _bot_username(args: argparse.Namespace) -> str | None:
    """Ask the Bot API for the bot's username (needs the token)."""
    token = _token()
    if token is None:
        return None
    from telegram import Bot

    base = f"{args.api_url.rstrip('/')}" if args.api_url else "https://api.telegram.org/bot"
    async with Bot(token, base_url=base) as bot:
        return bot.username


def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    """Copy the SQLite database, even while the bot runs, into a consistent new file."""
    from bot.ops import OperationRefused, backup_sqlite

    try:
        size = backup_sqlite(config.bot.database_url, Path(args.file))
    except OperationRefused as refused:
        return _fail(str(refused))
    print(f"backup written to {args.file} ({size:,} bytes), integrity checked")
    return 0


def cmd_restore(args: argparse.Namespace, config: Config) -> int:
    """Put a backup back in place of the SQLite database (the bot must be stopped)."""
    from bot.ops import OperationRefused, restore_sqlite

    try:
        restore_sqlite(Path(args.file), config.bot.database_url)
    except OperationRefused as refused:
        return _fail(str(refused))
    print(f"restored {args.file}; start the bot to migrate it to this version if it is older")
    return 0


def cmd_migrate_data(args: argparse.Namespace, config: Config) -> int:
    """Move every row from one database (by default the configured one) into another, empty one."""
    from bot.ops import OperationRefused, move_data

    source = args.source or config.bot.database_url
    if source == args.to:
        return _fail("the source and the target are the same database")
    try:
        report = asyncio.run(move_data(source, args.to, progress=lambda t, n: print(f"  {t}: {n:,} rows")))
    except OperationRefused as refused:
        return _fail(str(refused))
    print(
        f"moved {report.rows:,} rows into the new database; "
        "point LIAISON_DATABASE_URL at it and start the bot"
    )
    return 0


def cmd_emulator(args: argparse.Namespace, _config: Config | None) -> int:
    """Serve the Bot API emulator over HTTP for the sandbox, end-to-end tests and benchmarks."""
    from sandbox.emulator.http import main as serve

    serve(
        host=args.host,
        port=args.port,
        token=os.environ.get("TELEGRAM_BOT_TOKEN") or "123456:TEST",
        bot_username=args.bot_username or "liaison_test_bot",
    )
    return 0


def cmd_sandbox(args: argparse.Namespace, config: Config) -> int:
    """The training sandbox: the emulator, the real bot on its own SQLite file, and a page of phones."""
    from pathlib import Path

    from bot.logs import configure_logging
    from sandbox.core import SandboxError
    from sandbox.scenario import ScenarioError
    from sandbox.web import run

    configure_logging("WARNING")
    try:
        asyncio.run(
            run(
                config,
                host=args.host,
                port=args.port,
                directory=Path(args.dir) if args.dir else None,
                scenario=args.scenario,
                language=args.language,
                ready=lambda line: print(line, flush=True),
            )
        )
    except (SandboxError, ScenarioError, OSError) as exc:
        return _fail(str(exc))
    return 0


def cmd_audit(args: argparse.Namespace, config: Config) -> int:
    """Recompute the audit log's chains and name the first entry altered, inserted or removed."""
    from db.audit import KEY_ENV, verify_engine
    from db.engine import create_engine

    async def go() -> int:
        engine = create_engine(config.bot.database_url)
        try:
            report = await verify_engine(engine, chains=args.post or None)
        finally:
            await engine.dispose()
        for chain, last in sorted(report.unkeyed_prefix.items()):
            print(f"{chain or '(no post)'}: entries up to #{last} were sealed before {KEY_ENV} was set")
        for problem in report.problems:
            print(f"BROKEN {problem.chain or '(no post)'}: {problem.message}")
        if report.ok:
            print(f"OK: {report.entries} entries in {report.chains} chains, every chain intact")
            return 0
        print(f"{len(report.problems)} of {report.chains} chains broken ({report.entries} entries checked)")
        return 1

    return asyncio.run(go())


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    """Export the review log of some posts and days to a CSV or XLSX file (no size limit)."""
    from bot.app import build_application, runtime_of
    from bot.features import FeatureConflict

    async def go() -> int:
        # The factory wires the features (their kinds of entries and the export itself); nothing is started,
        # nothing is written (the database is the bot's, migrated by it).
        try:
            application = build_application(config, token="0:command-line", start_background=False)
        except FeatureConflict as conflict:
            return _fail(f"cannot install the features: {conflict}")
        runtime = runtime_of(application)
        try:
            runner = runtime.features.cli("export")
            if runner is None:
                return _fail("no installed feature exports the log")
            return await runner(runtime, args)
        finally:
            await runtime.db.dispose()

    return asyncio.run(go())


def cmd_i18n(args: argparse.Namespace, _config: Config | None) -> int:
    """Refresh or check the translation catalogs."""
    from bot import catalogs

    if args.action == "update":
        missing = catalogs.update()
        for language, ids in missing.items():
            for message_id in ids:
                print(f"{language}: untranslated: {message_id}")
        return 0
    problems = catalogs.problems()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(
        prog="liaison", description="Inter-agency coordination bot for border posts."
    )
    top.add_argument("--config", help="path to config.yaml (default: LIAISON_CONFIG or ./config.yaml)")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot")
    run.add_argument(
        "--api-url", help="Bot API base, e.g. http://127.0.0.1:8081/bot (emulator or local server)"
    )
    run.add_argument("--webhook-url", help="public HTTPS URL for webhook mode (several instances)")
    run.add_argument("--listen", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8443)
    run.add_argument("--url-path", default="telegram")
    # Only for bench/bench_inbox.py, which measures what the inbox costs: updates are then lost on a crash.
    run.add_argument("--no-inbox", action="store_true", help=argparse.SUPPRESS)
    status = sub.add_parser(
        "status", help="what the admin should know: queue, sends, 429s, unreachable members, inbox, schedules"
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON (for monitoring)")
    sub.add_parser("check-config", help="validate the configuration and exit")
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current", "revision"])
    db.add_argument("revision", nargs="?")
    db.add_argument("-m", "--message", help="db revision: what the migration does (names the file)")
    coordinator = sub.add_parser("create-coordinator", help="print an invite link for the first coordinator")
    coordinator.add_argument("--role", choices=["coordinator", "admin"], default="coordinator")
    coordinator.add_argument("--bot-username")
    coordinator.add_argument("--api-url")
    coordinator.add_argument("--ttl-hours", type=float)
    emulator = sub.add_parser("emulator", help="serve the Bot API emulator over HTTP")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.add_argument("--bot-username")
    backup = sub.add_parser("backup", help="copy the running SQLite database into a consistent new file")
    backup.add_argument("file")
    restore = sub.add_parser("restore", help="put a SQLite backup back (stop the bot first)")
    restore.add_argument("file")
    move = sub.add_parser(
        "migrate-data", help="move every row into another, empty database (SQLite to PostgreSQL)"
    )
    move.add_argument("--to", required=True, help="target database URL, e.g. postgresql+asyncpg://...")
    move.add_argument("--from", dest="source", help="source database URL (default: the configured one)")
    sandbox = sub.add_parser("sandbox", help="training sandbox: phones in a browser against the real bot")
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="address to serve the page on (0.0.0.0: the room)"
    )
    sandbox.add_argument("--port", type=int, default=8088)
    sandbox.add_argument("--dir", help="keep the sandbox's database here (default: a temporary directory)")
    sandbox.add_argument(
        "--scenario", default="free-play", help="scenario to start with (sandbox/scenarios/)"
    )
    sandbox.add_argument(
        "--language", choices=["fr", "en"], default="fr", help="language of the first scenario"
    )
    export = sub.add_parser("export", help="export the review log to CSV or XLSX")
    export.add_argument("--post", action="append", help="a post code (repeatable; default: every post)")
    export.add_argument("--since", required=True, help="first day, YYYY-MM-DD (in the post's time zone)")
    export.add_argument("--until", required=True, help="last day, YYYY-MM-DD (included)")
    export.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    export.add_argument("--kind", help="only one kind of entries (alerts, members, reminders...)")
    export.add_argument("--service", help="only one service's entries (customs, police...)")
    export.add_argument("--language", choices=["fr", "en"], default="fr", help="headers and summaries")
    export.add_argument("-o", "--output", required=True, help="the file to write")
    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    audit.add_argument("action", choices=["verify"])
    audit.add_argument("--post", action="append", help="only this post's chain (repeatable)")
    i18n = sub.add_parser("i18n", help="translation catalogs")
    i18n.add_argument("action", choices=["update", "check"])
    return top


COMMANDS: dict[str, Callable[[argparse.Namespace, Any], int]] = {
    "run": cmd_run,
    "status": cmd_status,
    "check-config": cmd_check_config,
    "db": cmd_db,
    "create-coordinator": cmd_create_coordinator,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "migrate-data": cmd_migrate_data,
    "emulator": cmd_emulator,
    "sandbox": cmd_sandbox,
    "i18n": cmd_i18n,
    "audit": cmd_audit,
    "export": cmd_export,
}
NEEDS_NO_CONFIG = {"emulator", "i18n"}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `liaison` console script."""
    args = parser().parse_args(argv)
    config = None
    if args.command not in NEEDS_NO_CONFIG:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            return _fail(str(exc))
    try:
        return COMMANDS[args.command](args, config)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
