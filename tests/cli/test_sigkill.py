"""`tocsin run` killed with SIGKILL in the middle of ingest, as a crash or the OOM killer would.

The promises under test: an alert that got HTTP 200 is in the journal on disk, and a
notification that was decided is delivered eventually — here, by the daemon restarted on the
same journal, since the receiver was down until the kill.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx

from tocsin.journal import open_journal_reader

from ..adapters.running_tocsin import running_tocsin, wait_for
from ..fakes.webhook_sink import webhook_sink

CONFIG = """\
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs: [{{url: 'http://127.0.0.1:{port}/hook'}}]
"""
WORKERS = 4
MAX_BATCHES = 2_000  # per worker: the loop stops itself even if the kill never comes


def _post_until_refused(url: str, worker: int, acked: list[str], stop: threading.Event) -> None:
    """Post batches of 10 alerts, one new alertname (so one new group) per batch, until the
    daemon is gone; `acked` gets the alertname of every batch answered 200."""
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for i in range(MAX_BATCHES):
            if stop.is_set():
                return
            name = f"Killed{worker}x{i}"
            alerts = [{"labels": {"alertname": name, "instance": f"host-{j}"}} for j in range(10)]
            try:
                r = client.post("/api/v2/alerts", json=alerts)
            except httpx.TransportError:
                return  # the daemon is gone: this batch was not acknowledged
            if r.status_code == 200:
                acked.append(name)


def _journal(data: Path) -> tuple[dict[str, str], set[str], set[str]]:
    """(alertname -> group id of every alert received, groups with a notification requested,
    groups with one delivered)."""
    groups: dict[str, str] = {}
    requested: set[str] = set()
    delivered: set[str] = set()
    with open_journal_reader(data) as reader:
        for rec in reader.read():
            if rec.type == "alert.received":
                groups[rec.payload["alert"]["labels"]["alertname"]] = rec.payload["group_id"]
            elif rec.type == "notification.requested":
                requested.add(rec.payload["group_id"])
            elif rec.type == "notification.delivered":
                delivered.add(rec.payload["group_id"])
    return groups, requested, delivered


def test_what_got_200_survives_sigkill_and_what_was_decided_goes_out_after_restart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    args = ("--data-dir", str(data))
    acked: list[str] = []
    with webhook_sink() as sink:
        config = CONFIG.format(port=sink.port)
        sink.status = 503  # the receiver is down: nothing is delivered before the kill
        with running_tocsin(config, extra_args=args) as t:
            stop = threading.Event()
            workers = [
                threading.Thread(target=_post_until_refused, args=(t.url, w, acked, stop))
                for w in range(WORKERS)
            ]
            for w in workers:
                w.start()
            try:
                wait_for(lambda: len(acked) >= 40, 60.0, f"40 batches answered 200:\n{t.log()}")
                wait_for(lambda: sink.received, 30.0, "a delivery attempt, refused")
                t.kill()  # while the workers are still posting
            finally:
                stop.set()
                for w in workers:
                    w.join(timeout=30.0)
        assert not any(w.is_alive() for w in workers)

        groups, requested, delivered = _journal(data)
        missing = [name for name in acked if name not in groups]
        assert not missing, f"{len(missing)} batches answered 200 are not in the journal"
        # group_wait 0: each group's first notification was decided with its alerts, in the
        # same append, so before the 200.
        undelivered = {groups[name] for name in acked} - delivered
        assert undelivered <= requested
        assert len(undelivered) >= 40  # the receiver refused everything

        sink.status = 200
        with running_tocsin(config, extra_args=args) as t:

            def sent() -> set[str]:
                bodies = [json.loads(b) for b in sink.bodies() if b]
                return {b["groupLabels"]["alertname"] for b in bodies if b["status"] == "firing"}

            wait_for(
                lambda: set(acked) <= sent(),
                60.0,
                f"every acknowledged group notified after the restart:\n{t.log()}",
            )
            wait_for(
                lambda: undelivered <= _journal(data)[2],
                30.0,
                "their deliveries journaled",
            )
