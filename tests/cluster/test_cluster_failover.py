"""One Rasa server killed (SIGKILL, as a crash) in the middle of conversations, while turns are in it: nginx routes
around it, no turn, ticket or escalation is lost, and the server rejoins once restarted.

A turn that was inside the killed server when it died gets nginx's 502 (a POST the server
received is never resent by nginx: it may have run); the client sends it again, as the
widget's user would. Rasa saves a turn only when it is complete, and the dead server's
Redis lock expires (TICKET_LOCK_LIFETIME, 20 s), so the resent turn is answered by the other server."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
import urllib.error
from pathlib import Path
from typing import Dict, List, Optional

from clinic_bot.safety import message_urgency
from tests.cluster.helpers import REST_TOKEN, post, tickets, tracker, turns, wait_until
from tests.conftest import PROJECT_ROOT, STAFF_HOOK_PATH, new_sender

RED_FLAG = "i came off my bike an hour ago and now i cant feel my legs properly"
FIRST = ["hello", "what is a facet joint?"]
SECOND = ["how long do facet joint injections last?", "should i rest?"]
REPORT = PROJECT_ROOT / "tests" / "artifacts" / "cluster_failover.json"


class Patient:
    """One conversation through nginx, resending a turn that failed in transit."""

    def __init__(self, base_url: str, sender: str) -> None:
        self.base_url, self.sender = base_url, sender
        self.resent = 0
        self.slowest_s = 0.0
        self.replies: List[list] = []

    def say(self, text: str, deadline_s: float = 150.0) -> list:
        started = time.monotonic()
        while True:
            try:
                status, body = post(
                    f"{self.base_url}/webhooks/rest/webhook",
                    {"sender": self.sender, "message": text},
                    {"Authorization": f"Bearer {REST_TOKEN}"},
                    timeout=120,
                )
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status, body = 0, None
            if status == 200:
                self.slowest_s = max(self.slowest_s, time.monotonic() - started)
                self.replies.append(body)
                return body
            assert status in (0, 502, 504), (status, body)
            assert time.monotonic() - started < deadline_s, f"turn {text!r} never answered"
            self.resent += 1
            time.sleep(0.5)


def run_all(patients: List[Patient], scripts: Dict[str, List[str]], ready: Optional[threading.Barrier] = None) -> None:
    """Every patient's script at once; with `ready`, each waits there before its first turn."""
    errors: List[BaseException] = []

    def run(p: Patient) -> None:
        try:
            if ready is not None:
                ready.wait(60)
            for text in scripts[p.sender]:
                p.say(text)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(400)
    assert not errors, errors


def served_by(log: Path, offset: int) -> set:
    return set(re.findall(r" (\d{3}) upstream=(\S+)", log.read_text()[offset:]))


def test_killed_server_loses_nothing_and_rejoins(cluster, recorder) -> None:
    patients = [Patient(cluster.rasa_url, new_sender("cl-failover")) for _ in range(6)]
    run_all(patients, {p.sender: FIRST for p in patients})
    second = {p.sender: list(SECOND) for p in patients}
    second[patients[0].sender] = [RED_FLAG, "what happens now?"]
    # kill server 1 just after all six have sent a turn (several are inside it then: a turn
    # takes well over 0.1 s with six at once on this machine)
    ready = threading.Barrier(len(patients) + 1)

    def kill_mid_turn() -> None:
        ready.wait(60)
        time.sleep(0.1)
        cluster.stop_service("rasa server 1", signal.SIGKILL)

    killer = threading.Thread(target=kill_mid_turn)
    started = time.monotonic()
    killer.start()
    run_all(patients, second, ready)
    killer.join(60)
    outage_s = time.monotonic() - started

    for p in patients:
        got = turns(tracker(cluster, p.sender)["events"])
        said = [u for u, _ in got]
        deduped = [u for i, u in enumerate(said) if i == 0 or said[i - 1] != u]
        assert deduped == FIRST + second[p.sender], said
        assert all(bot for _, bot in got[:3]), got  # every turn answered (the last: held for staff in handoff)
    escalated = patients[0]
    assert any(message_urgency(m) == "emergency" for m in escalated.replies[2]), escalated.replies[2]
    (ticket,) = tickets(cluster, escalated.sender)
    assert ticket.urgency == "emergency"
    wait_until(
        lambda: [r for r in recorder.matching(STAFF_HOOK_PATH) if r.json()["ticket"]["conversation_id"] == escalated.sender],
        30,
        "the staff alert",
    )

    # restarted, server 1 takes traffic again once nginx's fail_timeout has passed
    log = Path(cluster.log_dir) / "nginx-access.log"
    cluster.restart_service("rasa server 1")
    offset = len(log.read_text())
    one = cluster.server_urls[0].split("//")[1]
    probe = Patient(cluster.rasa_url, new_sender("cl-rejoin"))
    started_rejoin = time.monotonic()
    wait_until(lambda: probe.say("hello") is not None and ("200", one) in served_by(log, offset), 90, "server 1 to serve again", every_s=0.5)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "conversations": len(patients),
                "turns_after_kill": sum(len(v) for v in second.values()),
                "resent_turns": sum(p.resent for p in patients),
                "slowest_turn_s": round(max(p.slowest_s for p in patients), 2),
                "second_phase_s": round(outage_s, 2),
                "rejoined_after_s": round(time.monotonic() - started_rejoin, 2),
                "tickets_for_red_flag": 1,
            },
            indent=2,
        )
    )
