"""Audit log: who viewed, exported, replied to, acted on or erased which conversation.

The log is kept for accountability, so it must not become a second copy of
patients' identifiers: details never hold search text or phone numbers (digit
runs are masked as they are written), and erasing a conversation replaces its
id everywhere in the log, in details too (`pseudonymise`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from console.masking import PHONE_RE, mask_phone_numbers
from console.tables import audit_table as t

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "view",
    "export",
    "reply",
    "resume",
    "ticket_ack",
    "ticket_close",
    "delete",
    "retention",
    "user_create",
    "user_disable",
    "user_password",
    "user_unlock",
    "user_display_name",
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

    def record(self, actor: str, action: str, subject: Optional[str] = None, detail: Optional[str] = None, ip: Optional[str] = None) -> None:
        self.record_many(actor, action, [subject], detail=detail, ip=ip)

    def record_many(self, actor: str, action: str, subjects: Iterable[Optional[str]], detail: Optional[str] = None, ip: Optional[str] = None) -> None:
        now = time.time()
        detail = mask_phone_numbers(detail[:2000]) if detail else None
        rows = [dict(at=now, actor=actor[:64], action=action, subject=s, detail=detail, ip=(ip or None) and ip[:64]) for s in subjects]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(t.insert(), rows)

    def entries(
        self, *, subject: Optional[str] = None, actor: Optional[str] = None, action: Optional[str] = None, limit: int = 100, offset: int = 0
    ) -> Tuple[List[AuditEntry], int]:
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
        """Replace an erased conversation's id by its pseudonym in past entries: as their
        subject, and wherever it is written in their details (also as a phone number
        written differently, e.g. "07700 900123" for 447700900123)."""
        digits = re.sub(r"\D", "", subject)
        phone = len(digits) >= 7
        with self.engine.begin() as conn:
            changed = conn.execute(t.update().where(t.c.subject == subject).values(subject=pseudonym)).rowcount
            like = [t.c.detail.contains(subject, autoescape=True)]
            if phone:
                like.append(t.c.detail.contains(digits[-3:], autoescape=True))
            for row in conn.execute(sa.select(t.c.id, t.c.detail).where(sa.or_(*like))).all():
                detail = _scrub(row.detail, subject, digits if phone else "", pseudonym)
                if detail != row.detail:
                    conn.execute(t.update().where(t.c.id == row.id).values(detail=detail))
                    changed += 1
        return changed


def _scrub(detail: str, subject: str, digits: str, pseudonym: str) -> str:
    detail = detail.replace(subject, pseudonym)
    if not digits:
        return detail

    def same_number(m: "re.Match[str]") -> str:
        found = re.sub(r"\D", "", m.group(0))
        national = found.lstrip("0")
        if len(found) >= 7 and (digits.endswith(found) or (len(national) >= 7 and digits.endswith(national))):
            return pseudonym
        return m.group(0)

    return PHONE_RE.sub(same_number, detail)
