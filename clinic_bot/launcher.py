"""Start and stop the whole stack: action server, Rasa server, staff console, widget demo.

`make run` uses it in the foreground (Ctrl-C stops everything cleanly); the
end-to-end tests and the benchmark use the same code on free ports with a
temporary data folder, so what is tested is what runs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Type, TypeVar

from clinic_bot.files import PRIVATE_UMASK, kept_secret, make_private, private_dir, write_private
from clinic_bot.foreground import serve_in_foreground
from clinic_bot.logs import LogPump, open_pump
from clinic_bot.origins import default_widget_origins
from clinic_bot.rasa_api import auth_headers
from clinic_bot.settings import PROJECT_ROOT, load_settings
from clinic_bot.settings import env as settings_env

VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
StackT = TypeVar("StackT", bound="Stack")
DEFAULT_MODEL = PROJECT_ROOT / "models" / "facet-assistant.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout_s: float, proc: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f}s ({last})")


def load_or_create_secret(var_dir: Path, env_name: str) -> str:
    """A secret from the environment, else one generated once and kept in var/secrets/."""
    return settings_env(env_name) or kept_secret(var_dir, env_name.lower()) or ""


@dataclass
class Service:
    name: str
    argv: List[str]
    health_url: str
    public_url: str
    timeout_s: float = 180.0
    log_name: str = ""  # the log file's name (default: the name's first word)
    proc: Optional[subprocess.Popen] = None
    log: Optional[LogPump] = None


@dataclass
class Stack:
    """The running servers; ports default to the documented ones, 0 picks free ports."""

    var_dir: Path = PROJECT_ROOT / "var"
    model: Path = DEFAULT_MODEL
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    console_port: int = 5080
    widget_port: int = 8080
    with_console: bool = True
    with_widget: bool = True
    with_actions: bool = True
    # False: plain `rasa run`, no warm-up (the benchmark measures what the fixes are worth)
    runtime_fixes: bool = True
    extra_env: Dict[str, str] = field(default_factory=dict)
    endpoints: Optional[Path] = None  # None: RASA_ENDPOINTS (endpoints.yml)
    log_dir: Optional[Path] = None
    services: List[Service] = field(default_factory=list)

    def __post_init__(self) -> None:
        for attr in ("rasa_port", "action_port", "console_port", "widget_port"):
            if getattr(self, attr) == 0:
                setattr(self, attr, free_port())
        self.var_dir = private_dir(Path(self.var_dir).resolve())  # databases, logs, secrets: owner-only
        make_private(PROJECT_ROOT / ".env")  # secrets; make run reads it
        # the HTTP API's JWT secret (clients sign short-lived tokens with it: clinic_bot/rasa_api.py)
        self.token = load_or_create_secret(self.var_dir, "RASA_JWT_SECRET")
        self.console_secret = load_or_create_secret(self.var_dir, "CONSOLE_SECRET_KEY")
        self.action_secret = load_or_create_secret(self.var_dir, "ACTION_SERVER_SECRET")
        self.widget_session_secret = load_or_create_secret(self.var_dir, "WIDGET_SESSION_SECRET")
        # the staff webhook is always signed (X-Clinic-Signature-256); give the receiver this secret
        self.staff_webhook_secret = load_or_create_secret(self.var_dir, "STAFF_WEBHOOK_SECRET")

    @classmethod
    def from_settings(cls: Type[StackT], **overrides: Any) -> StackT:
        """The stack on the configured folder, ports and interface (make run, make cluster)."""
        settings = load_settings()
        kwargs: Dict[str, Any] = dict(
            var_dir=settings.var_dir,
            rasa_port=settings.rasa_port,
            action_port=settings.action_port,
            console_port=settings.console_port,
            widget_port=settings.widget_port,
            host=settings.bind_host,
        )
        return cls(**{**kwargs, **overrides})

    def api_headers(self) -> Dict[str, str]:
        """Headers that authenticate a call to this stack's Rasa HTTP API."""
        return auth_headers(self.token)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def console_url(self) -> str:
        return f"http://{self.host}:{self.console_port}"

    @property
    def widget_url(self) -> str:
        return f"http://{self.host}:{self.widget_port}"

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(PROJECT_ROOT),
            CLINIC_VAR_DIR=str(self.var_dir),
            CLINIC_DB_URL=env.get("CLINIC_DB_URL") or f"sqlite:///{self.var_dir / 'clinic.db'}",
            RASA_TRACKER_DB=str(self.var_dir / "tracker.db"),
            ACTION_SERVER_URL=f"http://{self.host}:{self.action_port}/webhook",
            RASA_URL=self.rasa_url,
            RASA_JWT_SECRET=self.token,
            CONSOLE_SECRET_KEY=self.console_secret,
            ACTION_SERVER_SECRET=self.action_secret,
            ACTION_HOST=self.host,
            WIDGET_SESSION_SECRET=self.widget_session_secret,
            STAFF_WEBHOOK_SECRET=self.staff_webhook_secret,
            WIDGET_ORIGINS=env.get("WIDGET_ORIGINS") or " ".join(default_widget_origins(self.widget_url)),
            RASA_TELEMETRY_ENABLED=settings_env("RASA_TELEMETRY_ENABLED"),
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            TF_CPP_MIN_LOG_LEVEL="2",
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
        )
        env.update(self.extra_env)
        return env

    # what `rasa run/shell/test` and `python -m actions.server` need from the shell (README, "Plain Rasa")
    PLAIN_RASA_ENV = (
        "PYTHONPATH",
        "CLINIC_VAR_DIR",
        "CLINIC_DB_URL",
        "RASA_TRACKER_DB",
        "ACTION_SERVER_URL",
        "ACTION_SERVER_SECRET",
        "ACTION_HOST",
        "RASA_JWT_SECRET",
        "WIDGET_SESSION_SECRET",
        "STAFF_WEBHOOK_SECRET",
        "WIDGET_ORIGINS",
        "RASA_TELEMETRY_ENABLED",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "TF_CPP_MIN_LOG_LEVEL",
        "SQLALCHEMY_SILENCE_UBER_WARNING",
    )

    def write_rasa_env(self) -> Path:
        """var/rasa.env: `set -a; . var/rasa.env; set +a` gives a shell what endpoints.yml reads."""
        env = self.env()
        lines = [f"{key}={shlex.quote(env[key])}" for key in self.PLAIN_RASA_ENV if env.get(key)]
        path = self.var_dir / "rasa.env"
        write_private(path, "# written by `make rasa-env` (clinic_bot/launcher.py); holds secrets: never commit\n" + "\n".join(lines) + "\n")
        return path

    def rasa_service(self, port: int, name: str = "rasa server", log_name: str = "") -> Service:
        """One Rasa server on `port` (a cluster starts several, clinic_bot/cluster.py)."""
        py, rasa = str(VENV_BIN / "python"), str(VENV_BIN / "rasa")
        url = f"http://{self.host}:{port}"
        return Service(
            name,
            [
                *([py, "-m", "clinic_bot.rasa_runtime"] if self.runtime_fixes else [rasa]),
                # no --auth-token / --cors: the JWT secret comes from the environment
                # (clinic_bot/rasa_runtime.py); only the widget's socket.io answers
                # cross-origin, to WIDGET_ORIGINS (widget/rasa_channel.py)
                "run",
                "--model",
                str(self.model),
                "--enable-api",
                "--interface",
                self.host,
                "--port",
                str(port),
                "--credentials",
                str(PROJECT_ROOT / "credentials.yml"),
                "--endpoints",
                str(self.endpoints or load_settings().endpoints_path),
            ],
            f"{url}/",
            url,
            log_name=log_name,
        )

    def build_services(self) -> List[Service]:
        py = str(VENV_BIN / "python")
        services = []
        if self.with_actions:
            services.append(
                Service(
                    "action server",
                    [py, "-m", "actions.server", "--port", str(self.action_port)],
                    f"http://{self.host}:{self.action_port}/health",
                    f"http://{self.host}:{self.action_port}/webhook",
                )
            )
        services.append(self.rasa_service(self.rasa_port))
        if self.with_console and (PROJECT_ROOT / "console" / "app.py").exists():
            services.append(
                Service(
                    "staff console",
                    [py, "-m", "console.app", "--host", self.host, "--port", str(self.console_port)],
                    f"{self.console_url}/health",
                    f"{self.console_url}/",
                )
            )
        if self.with_widget and (PROJECT_ROOT / "widget" / "serve.py").exists():
            services.append(
                Service(
                    "website demo + widget",
                    [py, "-m", "widget.serve", "--host", self.host, "--port", str(self.widget_port), "--rasa-url", self.rasa_url],
                    f"{self.widget_url}/",
                    f"{self.widget_url}/",
                )
            )
        return services

    def start(self) -> "Stack":
        self.services = self.build_services()
        env = self.env()
        try:
            for group in self.start_groups():
                for svc in group:
                    self._spawn(svc, env)
                for svc in group:
                    self._await_ready(svc)
        except BaseException:
            self.stop()
            raise
        return self

    def start_groups(self) -> List[List[Service]]:
        """The services in start order: each group is started together and ready before the next."""
        return [self.services]

    def _spawn(self, svc: Service, env: Dict[str, str]) -> None:
        """Start one service in its own process group; its output goes to its log through a
        LogPump (clinic_bot/logs.py: patient data redacted, rotated, expired, owner-only).
        The child's umask makes whatever it creates (databases, WAL files) owner-only too."""
        log_dir = private_dir(self.log_dir or (self.var_dir / "logs"))
        svc.proc = subprocess.Popen(
            svc.argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=PRIVATE_UMASK,
        )
        svc.log = open_pump(svc.proc.stdout, log_dir / f"{svc.log_name or svc.name.split()[0]}.log", load_settings())

    def maintain_logs(self) -> None:
        """Rotate a quiet service's log once a day and delete expired copies (called periodically)."""
        for svc in self.services:
            if svc.log is not None:
                svc.log.file.roll_if_due()

    def _await_ready(self, svc: Service) -> None:
        """Wait for the service's health check; a Rasa server is then warmed up (start or restart)."""
        wait_http(svc.health_url, svc.timeout_s, svc.proc)
        if svc.name.startswith("rasa server") and self.runtime_fixes:
            self.warm_up(svc.public_url)

    def warm_up(self, rasa_url: Optional[str] = None) -> bool:
        """Parse one message so TensorFlow builds its graphs now, not on a patient's first turn.

        Parse-only (`/model/parse`): no conversation is created, so nothing shows in
        the staff console. A failure is reported but does not stop the stack."""
        if not any(svc.name.startswith("rasa server") for svc in self.services):
            return False
        req = urllib.request.Request(
            f"{rasa_url or self.rasa_url}/model/parse",
            data=b'{"text": "hello, is it arthritis?"}',
            headers={"Content-Type": "application/json", **self.api_headers()},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status == 200
        except Exception as exc:
            print(f"warning: warm-up parse failed ({exc}); the first turn will be slower", file=sys.stderr)
            return False

    def stop_service(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one server (SIGTERM: a clean shutdown; SIGKILL: as a crash would, the failover test)."""
        for svc in self.services:
            if svc.name == name and svc.proc and svc.proc.poll() is None:
                os.killpg(svc.proc.pid, sig)
                try:
                    svc.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(svc.proc.pid, signal.SIGKILL)
                    svc.proc.wait()
            if svc.name == name and svc.log is not None:
                svc.log.close()
                svc.log = None

    def restart_service(self, name: str) -> None:
        self.stop_service(name)
        env = self.env()
        for svc in self.services:
            if svc.name == name:
                self._spawn(svc, env)
                self._await_ready(svc)

    def stop(self) -> None:
        for svc in reversed(self.services):
            self.stop_service(svc.name)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run the clinic assistant stack")
    parser.add_argument("--shell", action="store_true", help="chat in this terminal (rasa shell) instead")
    parser.add_argument("--write-env", action="store_true", help="write var/rasa.env for the plain Rasa CLI and exit")
    args = parser.parse_args(argv)
    if args.write_env:
        print(Stack().write_rasa_env())
        return 0
    if not DEFAULT_MODEL.exists():
        print(f"no trained model at {DEFAULT_MODEL}; run `make run`", file=sys.stderr)
        return 1
    stack = Stack.from_settings()
    if args.shell:
        stack.with_console = stack.with_widget = False
        stack.services = [s for s in stack.build_services() if s.name == "action server"]
    print("==> starting servers (the first start loads TensorFlow; allow a minute)")
    if args.shell:
        env = stack.env()
        for svc in stack.services:
            svc.proc = subprocess.Popen(
                svc.argv, cwd=PROJECT_ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            wait_http(svc.health_url, svc.timeout_s, svc.proc)
        try:
            return subprocess.call(
                [str(VENV_BIN / "rasa"), "shell", "--model", str(stack.model), "--endpoints", str(PROJECT_ROOT / "endpoints.yml")],
                cwd=PROJECT_ROOT,
                env=env,
            )
        finally:
            stack.stop()
    return serve_in_foreground(stack, [f"REST channel             {stack.rasa_url}/webhooks/rest/webhook"])


if __name__ == "__main__":
    sys.exit(main())
