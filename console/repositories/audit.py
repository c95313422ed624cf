"""Audit log: who viewed, exported, replied to, acted on or erased which conversation."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from console.tables import audit_table as t

ACTIONS = (
    "login", "login_failed", "logout", "view", "export", "reply", "resume", "ticket_ack", "ticket_close",
    "delete", "retention", "user_create", "user_disable", "user_password", "user_unlock", "user_display_name",
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    action: str
    subject: Optional[str]
    detail: Optional[str]
    ip: Optional[str]


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, actor: str, action: str, subject: Optional[str] = None, detail: Optional[str] = None,
               ip: Optional[str] = None) -> None:
        self.record_many(actor, action, [subject], detail=detail, ip=ip)

    def record_many(self, actor: str, action: str, subjects: Iterable[Optional[str]], detail: Optional[str] = None,
                    ip: Optional[str] = None) -> None:
        now = time.time()
        rows = [dict(at=now, actor=actor[:64], action=action, subject=s, detail=(detail or None) and detail[:2000],
                     ip=(ip or None) and ip[:64]) for s in subjects]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(t.insert(), rows)

    def entries(self, *, subject: Optional[str] = None, actor: Optional[str] = None, action: Optional[str] = None,
                limit: int = 100, offset: int = 0) -> Tuple[List[AuditEntry], int]:
        q = sa.select(t)
        count = sa.select(sa.func.count()).select_from(t)
        for col, value in ((t.c.subject, subject), (t.c.actor, actor), (t.c.action, action)):
            if value:
                q, count = q.where(col == value), count.where(col == value)
        with self.engine.connect() as conn:
            total = conn.execute(count).scalar_one()
            rows = conn.execute(q.order_by(t.c.at.desc(), t.c.id.desc()).limit(limit).offset(offset))
            return [AuditEntry(**dict(r._mapping)) for r in rows], total

    def pseudonymise(self, subject: str, pseudonym: str) -> int:
        """Replace an erased conversation's id by its pseudonym in past entries."""
        with self.engine.begin() as conn:
            return conn.execute(t.update().where(t.c.subject == subject).values(subject=pseudonym)).rowcount
