"""Rasa's Redis lock store with two of its bugs fixed (Rasa 3.6.21, rasa/core/lock_store.py).

1. **A waiter whose own ticket expires waits forever.** `LockStore._acquire_lock` waits
   until `now_serving` equals its ticket and, every second, `update_lock` drops expired
   tickets. When a Rasa server dies holding a conversation's lock, the next message's
   ticket (issued within a second of the dead one) expires in the same sweep as the dead
   ticket: the lock is left with no tickets, `now_serving` is 0, never the waiter's
   number, and the turn hangs until the client gives up (seen in tests/cluster: a 120 s
   nginx timeout after one server was killed). Here a waiter whose ticket has gone takes
   a new ticket and keeps its place behind anyone still waiting.
2. **Read-modify-write without atomicity.** Issuing a ticket, dropping expired ones and
   finishing one each GET the lock, change it in Python and SET it back; two servers
   doing so at once lose one's change (a ticket vanishes: two turns of one conversation
   run at once). Noted when the ticket lock was merged (RasaHQ/rasa#3933, "this is far
   from atomic"). Here each change is a Redis optimistic transaction (WATCH / MULTI /
   EXEC, retried on conflict).

endpoints.production.yml names this class as the lock store; its settings are Rasa's
`redis` lock store's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, List, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
MAX_CONFLICT_RETRIES = 50


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose ticket changes are atomic and whose waiters never strand."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        # loaded by module path, Rasa passes the endpoint config (lock_store._load_from_module_name_in_endpoint_config)
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        for name in ("port", "db"):
            if isinstance(kwargs.get(name), str):
                kwargs[name] = int(kwargs[name])
        super().__init__(**kwargs)

    def _change(self, conversation_id: Text, change: Callable[[TicketLock], Any], create: bool = False) -> Any:
        """Apply `change` to the stored lock atomically; returns what `change` returned
        (None, and nothing written, when there is no lock and `create` is False). A lock
        left with no tickets is deleted in the same transaction."""
        import redis  # type: ignore[import-untyped]

        key = self.key_prefix + conversation_id
        for _ in range(MAX_CONFLICT_RETRIES):
            with self.red.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw:
                        lock = TicketLock.from_dict(json.loads(raw))
                    elif create:
                        lock = TicketLock(conversation_id)
                    else:
                        return None
                    result = change(lock)
                    pipe.multi()
                    if lock.tickets:
                        pipe.set(key, lock.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another server changed the lock first: read it again
        raise LockError(f"the lock for a conversation kept changing over {MAX_CONFLICT_RETRIES} attempts")

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return int(self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True))
        except LockError:
            raise
        except Exception as exc:
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: Text) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # Rasa's cleanup checks "anyone waiting?" and deletes the lock in two steps, which
        # can delete a ticket issued in between; finish_serving deletes an empty lock atomically
        self.finish_serving(conversation_id, ticket_number)

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        held = [self.issue_ticket(conversation_id, lock_lifetime)]
        try:
            yield await self._wait_turn(conversation_id, held, lock_lifetime, wait_time_in_seconds)
        finally:
            self.cleanup(conversation_id, held[0])  # the ticket held now: it may have been re-issued

    async def _wait_turn(self, conversation_id: Text, held: List[int], lifetime: float, wait_time_in_seconds: float) -> TicketLock:
        """Wait until the ticket in `held[0]` is served; re-queue if it expired while waiting (fix 1)."""
        while True:
            lock = self.get_lock(conversation_id)
            ticket = held[0]
            if lock is not None and lock.now_serving == ticket:
                return lock
            if lock is None or not any(t.number == ticket and not t.has_expired() for t in lock.tickets):
                logger.warning("a conversation lock ticket expired while waiting (a server died holding it?); queueing again")
                held[0] = self.issue_ticket(conversation_id, lifetime)
                continue
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)
