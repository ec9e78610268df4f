"""The `liaison` command line: run, check-config, db, create-coordinator, emulator, i18n."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """Run the bot (polling, or webhook when --webhook-url is given)."""
    token = _token()
    if token is None:
        return _fail("TELEGRAM_BOT_TOKEN is not set; export the token BotFather gave you and try again")
    from bot.app import build_application
    from bot.logs import configure_logging

    configure_logging(config.bot.log_level, secrets=[token, config.bot.database_url])
    # A stable instance id lets a restarted instance take back its own in-flight rows at once (PostgreSQL);
    # each running instance needs its own.
    instance_id = os.environ.get("LIAISON_INSTANCE_ID") or None
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
    application = build_application(config, token=token, api_url=args.api_url, instance_id=instance_id)
    _serve(application, args)
    return 0


def _serve(application: Any, args: argparse.Namespace) -> None:
    """Serve updates by webhook when a URL is given, else by long polling."""
    if args.webhook_url:
        application.run_webhook(
            listen=args.listen,
            port=args.port,
            url_path=args.url_path,
            webhook_url=args.webhook_url,
            secret_token=os.environ.get("LIAISON_WEBHOOK_SECRET"),
        )
    else:
        application.run_polling(drop_pending_updates=False)


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
                _, code = await issue_invite(
                    session,
                    role=args.role,
                    post_code=None,
                    service_code=None,
                    created_by=None,
                    now=now,
                    expires_at=expires,
                    via="cli",
                )
            return code, expires
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
    i18n = sub.add_parser("i18n", help="translation catalogs")
    i18n.add_argument("action", choices=["update", "check"])
    return top


COMMANDS: dict[str, Callable[[argparse.Namespace, Any], int]] = {
    "run": cmd_run,
    "check-config": cmd_check_config,
    "db": cmd_db,
    "create-coordinator": cmd_create_coordinator,
    "emulator": cmd_emulator,
    "i18n": cmd_i18n,
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
