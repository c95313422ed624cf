"""Closed-loop load: N simulated people, each in its own conversation, over REST.

Each simulated person sends a turn, waits for the whole answer, "thinks" for a
random time, and sends the next turn, so N is the number of *conversations*
open at once (not requests in flight; with think time 0 it is both). The
latency of a turn is measured from sending the POST to having read the
complete reply; it includes NLU, dialogue policies, the tracker store and any
custom action called over HTTP.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import aiohttp

from bench.scenario import Phrasebook, conversation
from clinic_bot.rasa_api import auth_headers
from clinic_bot.safety import message_urgency


@dataclass
class TurnResult:
    t: float  # start, seconds since the level started
    latency_s: float
    kind: str
    outcome: str  # ok | http_error | timeout | conn_error
    status: int = 0
    empty: bool = False
    escalated: bool = False
    text: str = ""


@dataclass
class LevelResult:
    name: str
    concurrency: int
    duration_s: float
    think_s: Tuple[float, float]
    turns: List[TurnResult] = field(default_factory=list)
    conversations: int = 0
    cpu_s: Dict[str, float] = field(default_factory=dict)  # server CPU used during the level
    wall_s: float = 0.0

    # ---- summaries
    def latencies_ms(self, ok_only: bool = True) -> List[float]:
        return [r.latency_s * 1000 for r in self.turns if (r.outcome == "ok" or not ok_only)]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.turns if r.outcome == outcome)

    @property
    def errors(self) -> int:
        return self.count("http_error") + self.count("conn_error")

    @property
    def timeouts(self) -> int:
        return self.count("timeout")

    def summary(self) -> Dict[str, Any]:
        lat = self.latencies_ms()
        red = [r for r in self.turns if r.kind == "red_flag" and r.outcome == "ok"]
        answered = [r for r in self.turns if r.outcome == "ok" and r.kind != "red_flag"]
        empty = [r for r in answered if r.empty]
        cpu_total = sum(self.cpu_s.values())
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "think_s": list(self.think_s),
            "duration_s": round(self.wall_s, 2),
            "turns": len(self.turns),
            "ok": len(lat),
            "conversations": self.conversations,
            "throughput_tps": round(len(lat) / self.wall_s, 3) if self.wall_s else 0.0,
            "p50_ms": percentile(lat, 50),
            "p95_ms": percentile(lat, 95),
            "p99_ms": percentile(lat, 99),
            "max_ms": round(max(lat), 1) if lat else None,
            "mean_ms": round(sum(lat) / len(lat), 1) if lat else None,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "empty_replies": len(empty),
            "empty_by_kind": {k: sum(1 for r in empty if r.kind == k) for k in sorted({r.kind for r in empty})},
            "unexpected_escalations": sum(1 for r in answered if r.escalated),
            "unexpected_escalation_texts": sorted({r.text for r in answered if r.escalated}),
            "red_flags_sent": len(red),
            "red_flags_escalated": sum(1 for r in red if r.escalated),
            "server_cpu_s": {k: round(v, 2) for k, v in self.cpu_s.items()},
            "server_cpu_ms_per_turn": round(cpu_total * 1000 / len(lat), 1) if lat else None,
            "kinds": {k: sum(1 for r in self.turns if r.kind == k) for k in sorted({r.kind for r in self.turns})},
        }


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Linear-interpolated percentile (numpy's default), rounded to 0.1 ms."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 1)


def _escalated(messages: Any) -> bool:
    return isinstance(messages, list) and any(message_urgency(m) for m in messages)


async def send_turn(session: aiohttp.ClientSession, url: str, sender: str, text: str, kind: str, t_level: float, timeout_s: float) -> TurnResult:
    start = time.perf_counter()
    try:
        async with session.post(url, json={"sender": sender, "message": text}, timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            body = await resp.read()
            latency = time.perf_counter() - start
            if resp.status != 200:
                return TurnResult(start - t_level, latency, kind, "http_error", resp.status)
            try:
                import json

                messages = json.loads(body)
            except ValueError:
                return TurnResult(start - t_level, latency, kind, "http_error", resp.status)
            return TurnResult(start - t_level, latency, kind, "ok", 200, empty=not messages, escalated=_escalated(messages))
    except asyncio.TimeoutError:
        return TurnResult(start - t_level, time.perf_counter() - start, kind, "timeout")
    except aiohttp.ClientError:
        return TurnResult(start - t_level, time.perf_counter() - start, kind, "conn_error")


async def run_level(
    rasa_url: str,
    book: Phrasebook,
    *,
    name: str,
    concurrency: int,
    duration_s: float,
    think_s: Tuple[float, float] = (1.0, 3.0),
    timeout_s: float = 10.0,
    seed: int = 0,
    sender_prefix: str = "bench",
    min_turns: int = 0,
    max_duration_s: Optional[float] = None,
    headers: Optional[Dict[str, str]] = None,
) -> LevelResult:
    """Run `concurrency` simulated people for `duration_s`, and on until at least `min_turns`
    turns are done, but never longer than `max_duration_s` (default 3 x duration_s)."""
    url = f"{rasa_url}/webhooks/rest/webhook"
    result = LevelResult(name, concurrency, duration_s, think_s)
    t_level = time.perf_counter()
    deadline = t_level + duration_s
    hard_deadline = t_level + (max_duration_s if max_duration_s is not None else 3 * duration_s)
    connector = aiohttp.TCPConnector(limit=concurrency + 4, force_close=False)

    def keep_going(extra_s: float = 0.0) -> bool:
        now = time.perf_counter() + extra_s
        return now < hard_deadline and (now < deadline or len(result.turns) < min_turns)

    async def person(i: int, session: aiohttp.ClientSession) -> None:
        rng = random.Random(seed * 100003 + i)
        k = 0
        # spread the first turns over one think interval, as people arrive at different times
        await asyncio.sleep(rng.uniform(0, think_s[1]) if think_s[1] > 0 else 0)
        while keep_going():
            sender = f"{sender_prefix}-{name}-{i}-{k}"
            k += 1
            result.conversations += 1
            for turn in conversation(rng, book):
                if not keep_going():
                    return
                r = await send_turn(session, url, sender, turn.text, turn.kind, t_level, timeout_s)
                r.text = turn.text
                result.turns.append(r)
                pause = rng.uniform(*think_s) if think_s[1] > 0 else 0.0
                if pause and not keep_going(pause):
                    return
                if pause:
                    await asyncio.sleep(pause)
                if r.escalated:  # in handoff now (a red flag, or a question taken for one): a new conversation
                    break

    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        await asyncio.gather(*(person(i, session) for i in range(concurrency)))
    result.wall_s = time.perf_counter() - t_level
    return result


async def parse_latencies(targets: Dict[str, Tuple[str, str]], texts: Sequence[str], timeout_s: float = 10.0) -> Dict[str, List[float]]:
    """NLU only (POST /model/parse, with a JWT signed by the stack's secret), one request at a
    time, alternating between the targets ({label: (rasa_url, jwt secret)}) text by text;
    latencies in ms (failures skipped)."""
    out: Dict[str, List[float]] = {label: [] for label in targets}
    sessions = {label: aiohttp.ClientSession() for label in targets}
    try:
        for text in texts:
            for label, (url, token) in targets.items():
                start = time.perf_counter()
                try:
                    async with sessions[label].post(
                        f"{url}/model/parse", headers=auth_headers(token), json={"text": text}, timeout=aiohttp.ClientTimeout(total=timeout_s)
                    ) as resp:
                        await resp.read()
                        if resp.status == 200:
                            out[label].append((time.perf_counter() - start) * 1000)
                except (asyncio.TimeoutError, aiohttp.ClientError):
                    pass
    finally:
        for s in sessions.values():
            await s.close()
    return out
