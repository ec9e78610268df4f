"""Configuration validation and the command line: bad files stop with one clear line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
GOOD = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def write_config(tmp_path: Path, data: object) -> Path:
    """Write a config file and return its path."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data)
    return path


def mutated(**changes: object) -> dict:
    """The shipped config with a few top-level sections replaced."""
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data.update(changes)
    return data


def test_shipped_config_is_valid_and_has_the_real_time_zones() -> None:
    config = load_config(ROOT / "config.yaml", environ={})
    assert config.post("NE-MAKALONDI").timezone == "Africa/Niamey"
    assert config.post("BF-KANTCHARI").timezone == "Africa/Ouagadougou"
    assert config.post("NE-MAKALONDI").partners == ("BF-KANTCHARI",)


def test_database_url_comes_from_the_environment() -> None:
    config = load_config(ROOT / "config.yaml", environ={"LIAISON_DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    assert config.bot.database_url == "sqlite+aiosqlite:///x.db"


BAD_CASES = [
    (
        mutated(posts=[{**GOOD["posts"][0], "timezone": "Africa/Niamy"}]),
        "posts[0].timezone: unknown time zone",
    ),
    (
        mutated(posts=[{**GOOD["posts"][0], "partners": ["XX-NOWHERE"]}]),
        "posts[0].partners: unknown partner post",
    ),
    (
        mutated(posts=[{**GOOD["posts"][0], "services": ["navy"]}]),
        "posts[0].services: unknown service 'navy'",
    ),
    (mutated(services=[{"code": "customs"}]), "services[0].name: Field required"),
    (
        mutated(delivery={"global_per_second": -3}),
        "delivery.global_per_second: Input should be greater than 0",
    ),
    (
        mutated(reminders=[{**GOOD["reminders"][0], "cron": "61 9 * * mon"}]),
        "reminders[0].cron: invalid cron",
    ),
    (mutated(surprise=True), "surprise: Extra inputs are not permitted"),
    ("posts: [unclosed", "line 1: invalid YAML"),
    ("- just\n- a list\n", "(top level): expected a mapping"),
]


@pytest.mark.parametrize(("data", "expected"), BAD_CASES)
def test_bad_config_is_reported_on_one_line_with_file_field_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: object, expected: str
) -> None:
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert expected in str(error.value) and str(path) in str(error.value)
    assert main(["--config", str(path), "check-config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "absent.yaml"), "check-config"]) == 2
    assert "absent.yaml: cannot read" in capsys.readouterr().err


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `liaison` as a separate process, as an administrator would."""
    environment = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
    )


def test_run_without_a_token_says_so_in_one_line_and_exits_2() -> None:
    result = run_cli("run")
    assert result.returncode == 2
    assert result.stderr == (
        "liaison: error: TELEGRAM_BOT_TOKEN is not set; export the token BotFather gave you and try again\n"
    )


def test_run_with_conflicting_features_says_so_in_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import handlers
    from bot.features import Feature

    async def nothing(*_: object) -> None:
        """A callback that is never called."""

    async def no_network(_args: object) -> str:
        raise AssertionError("the Bot API was called before the features were checked")

    thief = Feature(name="thief", callback_prefix="al", on_button=nothing)
    monkeypatch.setattr(handlers, "FEATURES", (*handlers.FEATURES, thief))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    monkeypatch.setattr("bot.cli._bot_username", no_network)
    # The root logger stays the test run's.
    monkeypatch.setattr("bot.logs.configure_logging", lambda *_args, **_kwargs: None)
    assert main(["--config", str(ROOT / "config.yaml"), "run"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "liaison: error: cannot install the features: callback prefix 'al' is claimed by both 'alerts' and "
        "'thief': it must be unique\n"
    )


def test_check_config_command_succeeds_on_the_shipped_file() -> None:
    result = run_cli("check-config")
    assert result.returncode == 0 and "OK: 3 posts" in result.stdout


def test_create_coordinator_prints_a_working_deep_link(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    result = run_cli(
        "create-coordinator",
        "--bot-username",
        "liaison_bot",
        env={"LIAISON_DATABASE_URL": f"sqlite+aiosqlite:///{database}"},
    )
    assert result.returncode == 0, result.stderr
    link = next(line for line in result.stdout.splitlines() if "link:" in line).split("link: ")[1]
    code = next(line for line in result.stdout.splitlines() if "code:" in line).split("code: ")[1]
    assert link == f"https://t.me/liaison_bot?start={code}"
    assert 16 <= len(code) <= 64 and code.replace("-", "").replace("_", "").isalnum()
    # The database stores only the code's hash: a leaked file does not leak the invite.
    assert code.encode() not in database.read_bytes()
