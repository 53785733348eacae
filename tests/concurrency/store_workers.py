"""Process bodies for the store's concurrency tests: claimers, creators and writers.

Each runs in a freshly spawned process (its own engine, its own pid, no torch), meets the others
at a barrier so that they really act at the same instant, and reports through a queue.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from mtlx.spec import load_spec
from mtlx.store.database import open_database
from mtlx.store.entities import Holder
from mtlx.store.runs import RunStore

PROVENANCE = {
    "host": "test-host",
    "device": "cpu (test)",
    "python_version": "3",
    "torch_version": "2",
    "mtlx_version": "0",
    "git_commit": "test-commit",
}


def _config(experiment: str, seed: int):
    spec = load_spec(experiment)
    return spec.run_config(spec.tasks, "ew", "adam", 1e-3, seed)


def claimer(url: str, experiment: str, rounds: int, barrier: Any, results: Any) -> None:
    """Per round, with every other claimer at the same instant: claim a new run, then — once
    the test has marked it FAILED — claim it again (a retry). Reports every outcome."""
    try:
        store = RunStore(open_database(url))
        holder = Holder.current()
        configs = [_config(experiment, seed) for seed in range(rounds)]
        for round_, config in enumerate(configs):
            for phase in ("new", "retry"):
                barrier.wait(timeout=120)  # go
                claim = store.claim(config, "test", PROVENANCE, holder)
                results.put((phase, round_, claim.lease is not None, claim.reason))
                barrier.wait(timeout=120)  # the test reads the outcomes (and fails the run)
        store.engine.dispose()
    except Exception:  # reported to the test, which fails with the traceback
        results.put(("error", -1, False, traceback.format_exc()))


def creator(urls: list[str], barrier: Any, results: Any) -> None:
    """Open each database of ``urls`` — none exists yet — at the same instant as the others."""
    for url in urls:
        try:
            barrier.wait(timeout=120)
            engine = open_database(url)
            engine.dispose()
            results.put(("ok", url))
        except Exception:
            results.put(("error", traceback.format_exc()))


def writer(
    url: str, experiment: str, seed: int, seconds: float, barrier: Any, results: Any
) -> None:
    """Claim one run, then record epochs (each a transaction of 10 metric rows plus the run's
    row) as fast as possible for ``seconds``; report how many commits succeeded."""
    try:
        store = RunStore(open_database(url))
        claim = store.claim(_config(experiment, seed), "test", PROVENANCE)
        assert claim.lease is not None, claim.reason
        metrics = {"train": {f"m{i}": float(i) for i in range(5)}, "val": {"x": 0.5, "y": 1.0}}
        barrier.wait(timeout=120)
        committed = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            store.record_epoch(claim.lease, committed + 1, metrics)
            committed += 1
        store.engine.dispose()
        results.put(("ok", seed, committed, ""))
    except Exception:
        results.put(("error", seed, 0, traceback.format_exc()))
