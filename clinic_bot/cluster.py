"""`make cluster`: the assistant as a deployment runs it, on this machine.

N Rasa servers (default 2) behind nginx, one action server, the staff console and
the demo site. Conversations live in PostgreSQL (Rasa's SQL tracker store), each
conversation's turns are serialised by a Redis lock (Rasa's Redis lock store),
every event is streamed to RabbitMQ (Rasa's pika event broker): all three come
from endpoints.production.yml. Tickets, staff accounts and audit share the same
PostgreSQL database (CLINIC_DB_URL), and widget messages cross servers through
Redis (widget/rasa_channel.py). nginx's config is generated from
config/nginx.conf.j2. `make run` stays the embedded SQLite default.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import jinja2

from clinic_bot.foreground import serve_in_foreground
from clinic_bot.launcher import VENV_BIN, Service, Stack, free_port
from clinic_bot.rate_limit import Rate
from clinic_bot.services import ScaleOutServices
from clinic_bot.settings import PROJECT_ROOT, env, load_settings

PRODUCTION_ENDPOINTS = PROJECT_ROOT / "endpoints.production.yml"
NGINX_TEMPLATE = PROJECT_ROOT / "config" / "nginx.conf.j2"
# nginx's passive health check: MAX_FAILS failed requests within FAIL_TIMEOUT_S take a server
# out for FAIL_TIMEOUT_S
FAIL_TIMEOUT_S = 5
MAX_FAILS = 3


def nginx_binary() -> Optional[str]:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def render_nginx_conf(*, listen: str, rasa_urls: List[str], prefix: Path, log_dir: Path) -> str:
    """nginx's config for these servers (config/nginx.conf.j2), with the limits in settings."""
    settings = load_settings()
    rate = Rate.parse(settings.rate_per_client)
    template = jinja2.Template(NGINX_TEMPLATE.read_text(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return template.render(
        listen=listen,
        rasa_urls=[u.split("://", 1)[-1] for u in rasa_urls],
        prefix=prefix,
        log_dir=log_dir,
        max_body_bytes=max(settings.max_request_bytes, settings.max_socket_packet_bytes),
        rest_rate_per_minute=max(1, math.ceil(rate.count * 60 / rate.seconds)),
        rest_burst=rate.count,
        fail_timeout_s=FAIL_TIMEOUT_S,
        max_fails=MAX_FAILS,
        api_allow=["127.0.0.1", "::1"],
        worker_user="nobody nogroup" if os.geteuid() == 0 else "",
    )


@dataclass
class ClusterStack(Stack):
    """A `Stack` whose Rasa server is N servers behind nginx, on the scale-out services."""

    servers: int = 2
    public_port: int = 8000
    database: str = ""  # empty: POSTGRES_DB
    scale_out: ScaleOutServices = field(default_factory=ScaleOutServices.from_env)
    rasa_ports: List[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        auto_ports = self.rasa_port == 0
        super().__post_init__()
        if self.servers < 1:
            raise ValueError("a cluster needs at least one Rasa server")
        self.endpoints = self.endpoints or PRODUCTION_ENDPOINTS
        self.database = self.database or self.scale_out.postgres_db
        if self.public_port == 0:
            self.public_port = free_port()
        if not self.rasa_ports:
            self.rasa_ports = [self.rasa_port] + [free_port() if auto_ports else self.rasa_port + i for i in range(1, self.servers)]

    @property
    def rasa_url(self) -> str:
        """The one public address: nginx (the console and the demo site use it too)."""
        return f"http://{self.host}:{self.public_port}"

    @property
    def server_urls(self) -> List[str]:
        return [f"http://{self.host}:{port}" for port in self.rasa_ports]

    @property
    def db_url(self) -> str:
        return self.scale_out.postgres_url(self.database)

    def env(self) -> Dict[str, str]:
        out = super().env()
        out.update(dataclasses.replace(self.scale_out, postgres_db=self.database).as_env())
        out.update(
            CLINIC_DB_URL=self.db_url,
            RASA_ENDPOINTS=str(self.endpoints),
            CONSOLE_TRACKER_DB_URL="",  # from RASA_ENDPOINTS: the same PostgreSQL database
            TICKET_LOCK_LIFETIME=env("TICKET_LOCK_LIFETIME"),  # read by Rasa's lock store
        )
        out.update(self.extra_env)
        return out

    def nginx_service(self) -> Service:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx-light; `make cluster` does it as root)")
        prefix = self.var_dir / "nginx"
        log_dir = self.log_dir or (self.var_dir / "logs")
        for sub in ("", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                listen=f"{self.host}:{self.public_port}",
                rasa_urls=self.server_urls,
                prefix=prefix,
                log_dir=log_dir,
            )
        )
        return Service(
            "nginx (public address)",
            [binary, "-p", str(prefix), "-c", str(conf), "-e", str(log_dir / "nginx-error.log")],
            f"{self.rasa_url}/nginx-health",
            self.rasa_url,
            timeout_s=30,
            log_name="nginx",
        )

    def build_services(self) -> List[Service]:
        single = super().build_services()
        actions = [s for s in single if s.name == "action server"]
        others = [s for s in single if s.name not in ("action server", "rasa server")]
        rasa = [self.rasa_service(port, f"rasa server {i}", log_name=f"rasa-{i}") for i, port in enumerate(self.rasa_ports, 1)]
        return [*actions, *rasa, *others, self.nginx_service()]

    def prepare_database(self) -> None:
        """Create the PostgreSQL database if it is missing (the servers create their tables)."""
        missing = self.scale_out.missing()
        if missing:
            raise RuntimeError(f"make cluster needs PostgreSQL, Redis and RabbitMQ: {missing}")
        self.scale_out.ensure_database(self.database)

    def start(self) -> "ClusterStack":
        self.prepare_database()
        super().start()
        return self

    def start_groups(self) -> List[List[Service]]:
        """The first Rasa server is ready before the others start, so only one process creates
        the tables of a new database (concurrent CREATE TABLE statements collide)."""
        first_rasa = next(i for i, s in enumerate(self.services) if s.name.startswith("rasa server"))
        return [self.services[: first_rasa + 1], self.services[first_rasa + 1 :]]

    def add_service(self, svc: Service) -> None:
        """Start one more server beside the running ones (a second console, say)."""
        self.services.append(svc)
        self._spawn(svc, self.env())
        self._await_ready(svc)

    def console_service(self, port: int, name: str) -> Service:
        """Another staff console on `port`, on the same database."""
        url = f"http://{self.host}:{port}"
        argv = [str(VENV_BIN / "python"), "-m", "console.app", "--host", self.host, "--port", str(port)]
        return Service(name, argv, f"{url}/health", f"{url}/", log_name=name.replace(" ", "-"))


def main(argv: Optional[List[str]] = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(description="Run the assistant as a cluster: N Rasa servers behind nginx")
    parser.add_argument("--servers", type=int, default=int(env("CLUSTER_RASA_SERVERS")), help="Rasa servers")
    parser.add_argument("--port", type=int, default=int(env("CLUSTER_PORT")), help="nginx's public port")
    args = parser.parse_args(argv)
    if not 1 <= args.servers <= 16:
        print("error: --servers must be between 1 and 16", file=sys.stderr)
        return 2
    stack = ClusterStack.from_settings(var_dir=settings.var_dir / "cluster", servers=args.servers, public_port=args.port)
    missing = stack.scale_out.missing()
    if missing:
        print(f"error: make cluster needs PostgreSQL, Redis and RabbitMQ ({missing}); `make run` needs none", file=sys.stderr)
        return 2
    print(f"==> starting {args.servers} Rasa servers behind nginx (PostgreSQL database {stack.database!r}, Redis, RabbitMQ)")
    return serve_in_foreground(
        stack,
        [
            f"PUBLIC ADDRESS           {stack.rasa_url}   (widget socket.io, /webhooks/rest/webhook, /webhooks/whatsapp/webhook)",
            *[f"  behind it: {url}" for url in stack.server_urls],
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
