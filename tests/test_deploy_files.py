"""The deployment files say what the README promises: a pinned, non-root image; PostgreSQL and two webhook
instances whose secrets come from the environment and whose health is /healthz; a sane systemd unit and
backup timer; no secret written in any of them."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV_REFERENCE = re.compile(r"^\$\{[A-Z_]+(:\?[^}]*)?\}$")


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of deploy/Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text())
    return parser


def test_the_image_is_pinned_slim_and_runs_as_a_user() -> None:
    instructions = dockerfile()
    bases = [args for op, args in instructions if op == "FROM"]
    assert len(bases) == 1 and re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", bases[0]), bases
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the process does not run as root"
    assert any(op == "RUN" and "useradd" in args and users[-1] in args for op, args in instructions)
    # What it copies exists, and it installs the package itself (catalogs, migrations, default config).
    for op, args in instructions:
        if op == "COPY" and not args.startswith("--"):
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source
    assert any(op == "RUN" and re.search(r"pip install \"?\.\[postgres\]", args) for op, args in instructions)
    assert ("ENTRYPOINT", '["liaison"]') in instructions, "exec form: liaison itself receives SIGTERM"


def test_compose_runs_postgresql_and_two_webhook_instances_with_secrets_from_the_environment() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:") and "healthcheck" in services["postgres"]
    assert ENV_REFERENCE.match(services["postgres"]["environment"]["POSTGRES_PASSWORD"])
    instances = {name: s for name, s in services.items() if name.startswith("liaison")}
    assert len(instances) == 2
    ids, host_ports = set(), set()
    for name, service in instances.items():
        env = service["environment"]
        for secret in ("TELEGRAM_BOT_TOKEN", "LIAISON_WEBHOOK_SECRET"):
            assert ENV_REFERENCE.match(env[secret]), (name, secret)
        assert env["LIAISON_DATABASE_URL"].startswith(
            "postgresql+asyncpg://liaison:${POSTGRES_PASSWORD}@postgres"
        )
        ids.add(env["LIAISON_INSTANCE_ID"])
        command = service["command"]
        assert command[0] == "run" and "--webhook-url" in command and "0.0.0.0" in command
        port = command[command.index("--port") + 1]
        host_ports.update(p.split(":")[1] for p in service["ports"])
        assert all(p.startswith("127.0.0.1:") and p.endswith(f":{port}") for p in service["ports"])
        probe = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/healthz" in probe
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        grace = int(str(service["stop_grace_period"]).rstrip("s"))
        assert grace >= 45, "room for the worst-case stop (in-flight sends hanging to their timeout)"
        assert service.get("stop_signal", "SIGTERM") == "SIGTERM" and service["restart"] == "unless-stopped"
    assert len(ids) == 2, "each instance has its own stable name"
    assert len(host_ports) == 2, "each instance its own port behind the HTTPS proxy"


def test_the_systemd_units_run_one_sqlite_instance_and_back_it_up() -> None:
    service = unit("liaison.service")["Service"]
    assert service["User"] == "liaison" and service["Type"] == "simple"
    assert service["ExecStart"].endswith("/bin/liaison run")
    assert "sqlite+aiosqlite:////var/lib/liaison/" in service["Environment"]
    assert service["EnvironmentFile"].startswith("/etc/liaison/"), "the token lives in a root-owned file"
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) >= 45
    assert service["Restart"] == "on-failure" and service["NoNewPrivileges"] == "yes"
    assert service["ReadWritePaths"] == "/var/lib/liaison" and service["ProtectSystem"] == "strict"
    assert unit("liaison.service")["Install"]["WantedBy"] == "multi-user.target"
    backup = unit("liaison-backup.service")["Service"]
    assert backup["Type"] == "oneshot" and backup["User"] == "liaison"
    assert "/bin/liaison backup /var/lib/liaison/backups/" in backup["ExecStart"]
    timer = unit("liaison-backup.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_no_secret_is_written_in_a_deployment_file() -> None:
    token = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")
    assigned = re.compile(
        r"(TOKEN|SECRET|PASSWORD|AUDIT_KEY)[\"']?\s*[:=]\s*[\"']?(?!\$\{)(?!\s*$)[^\s\"'#]+", re.IGNORECASE
    )
    url_password = re.compile(r"://[^:/\s]+:(?!\$\{)[^@\s]+@")
    for path in sorted(DEPLOY.iterdir()):
        text = path.read_text()
        assert not token.search(text), path
        assert not url_password.search(text), path
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            # References to the environment (${NAME} or ${NAME:?message}) are the one allowed value.
            assert not assigned.search(re.sub(r"\$\{[^}]*\}", "${}", line)), (path.name, line)
