"""How long ``mtlx status`` and ``mtlx show`` take on a database of 10,000 runs (pytest-benchmark).

Run with ``make bench``. The database is written once per session through the store's own
lifecycle: 9,000 finished runs, 100 running (on 4 GPUs of 25 hosts), 600 failed with an
8,000-character traceback each (the stored tail's maximum) and 300 killed, of one experiment.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mtlx.cli import app
from mtlx.methods import METHODS
from mtlx.spec import load_spec
from mtlx.store.database import open_database
from mtlx.store.entities import Holder, ResumePoint
from mtlx.store.monitoring import sweep_status
from mtlx.store.runs import RunStore
from mtlx.store.schema import RunStatus

REPO = Path(__file__).resolve().parents[1]
RUNS = 10_000
PROVENANCE = {
    "device": "cuda:0",
    "python_version": "3.11",
    "torch_version": "2.5",
    "mtlx_version": "0.1.0",
    "git_commit": "0123456789ab",
}
TRACEBACK = (
    "Traceback (most recent call last):\n"
    + ('  File "mtlx/engine/trainer.py", line 10, in train_epoch\n    loss.backward()\n' * 200)[
        -7900:
    ]
    + "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
)


@pytest.fixture(scope="session")
def big_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("status") / "results.sqlite")
    store = RunStore(open_database(db))
    spec = load_spec(str(REPO / "experiments" / "multimnist.yaml"))
    methods = [m for m in METHODS.names() if m != "stl"]
    lrs = [10.0**-k for k in range(1, 6)] + [3 * 10.0**-k for k in range(1, 6)]
    configs = (
        spec.run_config(spec.tasks, method, "adam", lr, seed)
        for seed in range(RUNS)
        for method in methods
        for lr in lrs
    )
    for number, config in zip(range(RUNS), configs, strict=False):
        host = f"gpu-node-{number % 25}"
        holder = Holder(host, 1000 + number, 1, "boot", {"host": host, "pid": 1000 + number,
                        "gpu": number % 4, "slot": 0, "executor": "local"})  # fmt: skip
        lease = store.claim(config, spec.name, PROVENANCE, holder).lease
        if number % 100 == 0:
            continue  # running
        if number % 100 < 7:
            store.fail(lease, TRACEBACK)
        elif number % 100 < 10:
            point = ResumePoint(f"/ckpt/{config.run_key}/a1-e3-s7.pt", 3)
            store.fail(lease, "cancelled: by alice at epoch 4 step 7", RunStatus.KILLED, point)
        else:
            store.finish(lease, 1, "val_loss")
    store.engine.dispose()
    return db


def test_status_query(benchmark, big_database: str) -> None:
    store = RunStore(open_database(big_database, create=False))
    status = benchmark(sweep_status, store)
    assert status.total() == RUNS and len(status.running) == RUNS // 100


def test_status_command(benchmark, big_database: str) -> None:
    runner = CliRunner()
    result = benchmark(runner.invoke, app, ["status", "--db", big_database])
    assert result.exit_code == 0, result.output
