"""clinic_bot/redis_lock_store.py against a real Redis: the two Rasa lock-store bugs it
fixes, each shown on Rasa's own RedisLockStore first."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import List

from rasa.core.lock_store import RedisLockStore

from clinic_bot.redis_lock_store import AtomicRedisLockStore

PREFIX = "testlocks"


def stores(services, cls, n: int = 2) -> list:
    return [cls(host=services.redis_host, port=services.redis_port, db=3, key_prefix=PREFIX) for _ in range(n)]


async def wait_behind_a_dead_holder(store, conversation: str) -> bool:
    """A dead server's ticket (never finished) and a waiter whose own ticket expires in the
    same sweep as the dead one: True if the waiter gets the lock within 6 s."""
    store.issue_ticket(conversation, 0.9)  # the holder that died

    async def waiter() -> None:
        async with store.lock(conversation, lock_lifetime=0.5, wait_time_in_seconds=1):
            pass

    try:
        await asyncio.wait_for(waiter(), 6)
        return True
    except asyncio.TimeoutError:
        return False


def test_rasas_waiter_is_stranded_when_its_ticket_expires_but_ours_is_served(services) -> None:
    (stock,) = stores(services, RedisLockStore, 1)
    assert asyncio.run(wait_behind_a_dead_holder(stock, f"c-{uuid.uuid4().hex}")) is False  # Rasa 3.6.21: hangs
    (fixed,) = stores(services, AtomicRedisLockStore, 1)
    assert asyncio.run(wait_behind_a_dead_holder(fixed, f"c-{uuid.uuid4().hex}")) is True


def issue_at_once(lock_stores: list, conversation: str, per_store: int) -> List[int]:
    tickets: List[int] = []
    start = threading.Barrier(len(lock_stores) * per_store)

    def issue(store) -> None:
        start.wait()
        tickets.append(store.issue_ticket(conversation, 30))

    threads = [threading.Thread(target=issue, args=(s,)) for s in lock_stores for _ in range(per_store)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return tickets


def round_is_complete(services, cls) -> bool:
    conversation = f"c-{uuid.uuid4().hex}"
    lock_stores = stores(services, cls, 2)
    tickets = issue_at_once(lock_stores, conversation, per_store=10)
    kept = lock_stores[0].get_lock(conversation)
    lock_stores[0].delete_lock(conversation)
    return len(set(tickets)) == 20 and kept is not None and len(kept.tickets) == 20


def test_tickets_issued_at_once_by_two_servers_are_all_kept(services) -> None:
    """Rasa's GET-change-SET loses tickets when two servers issue at once (shown first,
    within 30 rounds); the adapter keeps every one, round after round."""
    assert not all(round_is_complete(services, RedisLockStore) for _ in range(30))
    assert all(round_is_complete(services, AtomicRedisLockStore) for _ in range(10))


def test_the_adapter_is_built_from_rasas_endpoint_config(services) -> None:
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(
        url=services.redis_host,
        type="clinic_bot.redis_lock_store.AtomicRedisLockStore",
        port=str(services.redis_port),
        db=3,
        key_prefix=PREFIX,
        password="",
    )
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    conversation = f"c-{uuid.uuid4().hex}"

    async def two_turns() -> None:
        async with store.lock(conversation):
            pass
        async with store.lock(conversation):
            pass

    asyncio.run(two_turns())
    assert store.get_lock(conversation) is None  # nothing left behind
