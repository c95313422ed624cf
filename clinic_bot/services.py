"""Where the scale-out services are, and whether they answer: PostgreSQL, Redis, RabbitMQ.

One home for their addresses (environment, else the documented local defaults) so
`make cluster`, the migration, the benchmark and the cluster tests agree.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Optional
from urllib.parse import quote

import sqlalchemy as sa

from clinic_bot.settings import env


@dataclass(frozen=True)
class ScaleOutServices:
    postgres_host: str
    postgres_port: int
    postgres_user: str
    postgres_password: str
    postgres_db: str
    redis_host: str
    redis_port: int
    redis_password: str
    rabbitmq_host: str
    rabbitmq_port: int
    rabbitmq_user: str
    rabbitmq_password: str
    rabbitmq_queue: str

    @classmethod
    def from_env(cls) -> "ScaleOutServices":
        """From the environment; defaults (the local services) in clinic_bot/settings.py."""
        return cls(
            postgres_host=env("POSTGRES_HOST"),
            postgres_port=int(env("POSTGRES_PORT")),
            postgres_user=env("POSTGRES_USER"),
            postgres_password=env("POSTGRES_PASSWORD"),
            postgres_db=env("POSTGRES_DB"),
            redis_host=env("REDIS_HOST"),
            redis_port=int(env("REDIS_PORT")),
            redis_password=env("REDIS_PASSWORD"),
            rabbitmq_host=env("RABBITMQ_HOST"),
            rabbitmq_port=int(env("RABBITMQ_PORT")),
            rabbitmq_user=env("RABBITMQ_USER"),
            rabbitmq_password=env("RABBITMQ_PASSWORD"),
            rabbitmq_queue=env("RABBITMQ_QUEUE"),
        )

    def postgres_url(self, database: str) -> str:
        auth = quote(self.postgres_user, safe="") + (f":{quote(self.postgres_password, safe='')}" if self.postgres_password else "")
        return f"postgresql://{auth}@{self.postgres_host}:{self.postgres_port}/{database}"

    @property
    def redis_url(self) -> str:
        auth = f":{self.redis_password}@" if self.redis_password else ""
        return f"redis://{auth}{self.redis_host}:{self.redis_port}"

    @property
    def amqp_url(self) -> str:
        return f"amqp://{self.rabbitmq_user}:{self.rabbitmq_password}@{self.rabbitmq_host}:{self.rabbitmq_port}/"

    def missing(self) -> Optional[str]:
        """None when all three answer, else which does not (a reason to print or skip with)."""
        for name, host, port in (
            ("PostgreSQL", self.postgres_host, self.postgres_port),
            ("Redis", self.redis_host, self.redis_port),
            ("RabbitMQ", self.rabbitmq_host, self.rabbitmq_port),
        ):
            try:
                socket.create_connection((host, port), timeout=2).close()
            except OSError as exc:
                return f"{name} is not answering on {host}:{port} ({exc})"
        return None

    def _admin(self, statement: str, **params: str) -> Any:
        """Run one statement on the server's maintenance database (CREATE/DROP DATABASE
        cannot run inside a transaction); returns the first row."""
        admin = sa.create_engine(self.postgres_url("postgres"), isolation_level="AUTOCOMMIT", future=True)
        try:
            with admin.connect() as conn:
                result = conn.execute(sa.text(statement), params)
                return result.first() if result.returns_rows else None
        finally:
            admin.dispose()

    def ensure_database(self, name: str) -> str:
        """Create the database `name` if it is missing; returns its URL."""
        if not self._admin("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
            self._admin(f'CREATE DATABASE "{name}"')
        return self.postgres_url(name)

    def create_database(self, prefix: str = "clinic") -> str:
        """A new empty PostgreSQL database (a random name); returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.postgres_url(name)

    def drop_database(self, url: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)')

    def as_env(self) -> Dict[str, str]:
        """The environment a server needs to reach these services (endpoints.production.yml
        expands these names; Rasa refuses an unset one, so empty passwords are set too)."""
        return {
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password,
            "POSTGRES_DB": self.postgres_db,
            "REDIS_HOST": self.redis_host,
            "REDIS_PORT": str(self.redis_port),
            "REDIS_PASSWORD": self.redis_password,
            "RABBITMQ_HOST": self.rabbitmq_host,
            "RABBITMQ_PORT": str(self.rabbitmq_port),
            "RABBITMQ_USER": self.rabbitmq_user,
            "RABBITMQ_PASSWORD": self.rabbitmq_password,
            "RABBITMQ_QUEUE": self.rabbitmq_queue,
            "SOCKETIO_MANAGER_URL": self.redis_url,
        }
