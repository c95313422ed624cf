"""Where the scale-out services are, and whether they answer: PostgreSQL, Redis, RabbitMQ.

One home for their addresses (environment, else the documented local defaults) so
`make cluster`, the migration, the benchmark and the cluster tests agree.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from typing import Optional
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

    def create_database(self, prefix: str = "clinic") -> str:
        """A new empty PostgreSQL database (a random name); returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(self.postgres_url("postgres"), isolation_level="AUTOCOMMIT", future=True)
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.postgres_url(name)

    def drop_database(self, url: str) -> None:
        name = sa.engine.make_url(url).database
        admin = sa.create_engine(self.postgres_url("postgres"), isolation_level="AUTOCOMMIT", future=True)
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()
