"""Resuming: a run stopped at any step boundary and resumed ends exactly (bitwise, on the CPU) as
the same run trained without interruption — metrics of every epoch and split, the selected epoch,
the kept weights — and a resumed run keeps the epochs it recorded before the stop."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from mtlx.dispatch import worker
from mtlx.dispatch.plan import RunPlan
from mtlx.dispatch.signals import StopRequest
from mtlx.dispatch.sweep import run_sweep
from mtlx.engine.checkpoint import load_checkpoint

# 4 training steps of 64 per epoch; validation and test in 2 batches of 32 each
SIZES = (
    "dataset.train_pairs=256",
    "dataset.val_pairs=64",
    "dataset.test_pairs=64",
    "training.batch_size=64",
    "training.eval_batch_size=32",
)
EPOCHS = 3
# the boundaries training checks in one epoch: before each of 4 steps, after them, before each
# of 2 + 2 evaluation batches
CHECKS_PER_EPOCH = 4 + 1 + 2 + 2


class StopAfter(StopRequest):
    """A signal that arrives just before the ``checks``-th boundary training checks."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.remaining = checks

    def __call__(self) -> bool:
        if self.signal is None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.signal_received(15)  # SIGTERM
        return super().__call__()


def plan_for(spine, method: str = "ew", optimizer: str = "adam", epochs: int = EPOCHS) -> RunPlan:
    spec = spine.spec(*SIZES, epochs=epochs)
    return RunPlan(spec.run_config(spec.tasks, method, optimizer, 1e-3, 0), spec.name)


def history(runtime, run_key: str) -> pd.DataFrame:
    frame = runtime.store.epoch_history(run_key)
    return frame.drop(columns="attempt").sort_values(
        ["epoch", "split", "metric"], ignore_index=True
    )


def kept_weights(runtime, run_key: str) -> dict[str, torch.Tensor]:
    return load_checkpoint(runtime.store.run(run_key).checkpoint_path)["model"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, object]:
    """Reference runs trained in one go, per method (computed once per module)."""
    return {}


def reference(spine, folder: Path, method: str, cache: dict) -> tuple[pd.DataFrame, object, dict]:
    if method not in cache:
        runtime = spine.runtime(folder / f"reference-{method}.sqlite")
        plan = plan_for(spine, method)
        summary = run_sweep([plan], runtime)
        assert summary.counts() == {"FINISHED": 1}
        cache[method] = (
            history(runtime, plan.run_key),
            runtime.store.run(plan.run_key),
            kept_weights(runtime, plan.run_key),
        )
    return cache[method]


@pytest.mark.parametrize("checks", [1, 3, 5, 6, 8, CHECKS_PER_EPOCH, CHECKS_PER_EPOCH + 2, 23])
def test_a_run_stopped_anywhere_resumes_to_the_same_result(
    spine, isolated: Path, tmp_path_factory, uninterrupted, checks: int
) -> None:
    expected, expected_run, expected_weights = reference(
        spine, tmp_path_factory.mktemp("reference"), "ew", uninterrupted
    )
    runtime = spine.runtime(isolated / "results.sqlite")
    plan = plan_for(spine)

    stop = StopAfter(checks)
    stopped = run_sweep([plan], runtime, stop)
    assert stopped.stopped_by == 15
    (outcome,) = stopped.outcomes
    assert outcome.status == "KILLED"
    run = runtime.store.run(plan.run_key)
    assert run.status == "KILLED"
    assert run.error.startswith("killed by SIGTERM at epoch ")
    completed = (checks - 1) // CHECKS_PER_EPOCH
    assert run.epochs_completed == run.checkpoint_epoch == completed
    assert Path(run.checkpoint_path).is_file()
    recorded_before = history(runtime, plan.run_key)
    assert sorted(set(recorded_before["epoch"])) == list(range(1, completed + 1))

    resumed = run_sweep([plan], runtime)
    assert resumed.counts() == {"FINISHED": 1}
    assert resumed.outcomes[0].reason == f"resume KILLED from epoch {completed}"
    run = runtime.store.run(plan.run_key)
    assert (run.status, run.attempt, run.resumed_from_epoch) == ("FINISHED", 2, completed)
    final = history(runtime, plan.run_key)
    pd.testing.assert_frame_equal(final, expected, check_exact=True)
    assert (run.selected_epoch, run.selection_rule) == (
        expected_run.selected_epoch,
        expected_run.selection_rule,
    )
    # the epochs recorded before the stop were kept, not trained and written again
    attempts = runtime.store.epoch_history(plan.run_key).groupby("epoch")["attempt"].first()
    assert (attempts.loc[1:completed] == 1).all() and (attempts.loc[completed + 1 :] == 2).all()
    # the kept weights are the selected epoch's, exactly
    weights = kept_weights(runtime, plan.run_key)
    assert weights.keys() == expected_weights.keys()
    assert all(torch.equal(weights[k], expected_weights[k]) for k in weights)
    # only the kept weights remain of the run's checkpoints
    assert [p.name for p in Path(run.checkpoint_path).parent.iterdir()] == ["selected.pt"]


def test_a_checkpoint_is_written_every_n_epochs_and_at_every_new_best(
    spine, isolated: Path, monkeypatch
) -> None:
    epochs = 5
    spec = spine.spec(*SIZES, "training.checkpoint_every=2", epochs=epochs)
    plan = RunPlan(spec.run_config(spec.tasks, "ew", "adam", 1e-3, 0), spec.name, 2)
    runtime = spine.runtime(isolated / "results.sqlite", keep="last")
    written: list[int] = []
    original = worker._Checkpoints.write

    def spy(self, run, step=None):
        written.append(run.epoch)
        return original(self, run, step)

    monkeypatch.setattr(worker._Checkpoints, "write", spy)
    run_sweep([plan], runtime)
    scores = (
        history(runtime, plan.run_key)
        .query("split == 'val' and metric == 'selection_score'")["value"]
        .tolist()
    )
    new_bests = {
        e for e in range(1, epochs + 1) if scores[e - 1] < min(scores[: e - 1], default=1e9)
    }
    assert written == sorted({2, 4, epochs} | new_bests)
    run = runtime.store.run(plan.run_key)
    assert Path(run.checkpoint_path).name == "last.pt"
    assert load_checkpoint(run.checkpoint_path)["epoch"] == epochs


def test_an_unreadable_checkpoint_restarts_the_run_from_epoch_0(spine, isolated: Path) -> None:
    runtime = spine.runtime(isolated / "results.sqlite")
    plan = plan_for(spine)
    run_sweep([plan], runtime, StopAfter(CHECKS_PER_EPOCH + 3))
    run = runtime.store.run(plan.run_key)
    assert run.checkpoint_epoch == 1
    Path(run.checkpoint_path).write_bytes(b"torn")
    summary = run_sweep([plan], runtime)
    assert summary.counts() == {"FINISHED": 1}
    run = runtime.store.run(plan.run_key)
    assert run.resumed_from_epoch is None
    assert "cannot be read" in run.note and "trained again from epoch 0" in run.note
    assert set(runtime.store.epoch_history(plan.run_key)["attempt"]) == {2}


STATEFUL = [
    "uw",
    "uw-o",
    "rlw",
    "dwa",
    "famo",
    "imtl-l",
    "imtl",
    "imtl-g",
    "db-mtl",
    "mgda",
    "mgda-ub",
    "pcgrad",
    "cagrad",
    "aligned-mtl",
    "nash-mtl",
    "gradnorm",
    "graddrop",
    "adatask",
    "mtl-io",
]


@pytest.mark.parametrize("method", STATEFUL)
def test_every_method_resumes_mid_epoch_to_the_same_result(
    spine, isolated: Path, tmp_path_factory, uninterrupted, method: str
) -> None:
    """Learned scales, loss histories, logits, EMAs, per-task optimizer states and random draws
    all survive a stop in the third epoch (DWA's ratios are in use by then)."""
    expected, expected_run, _ = reference(
        spine, tmp_path_factory.mktemp("reference"), method, uninterrupted
    )
    runtime = spine.runtime(isolated / "results.sqlite")
    plan = plan_for(spine, method)
    stopped = run_sweep([plan], runtime, StopAfter(2 * CHECKS_PER_EPOCH + 3))
    assert stopped.outcomes[0].status == "KILLED"
    assert runtime.store.run(plan.run_key).checkpoint_epoch == 2
    assert run_sweep([plan], runtime).counts() == {"FINISHED": 1}
    pd.testing.assert_frame_equal(history(runtime, plan.run_key), expected, check_exact=True)
    assert runtime.store.run(plan.run_key).selected_epoch == expected_run.selected_epoch


def test_the_heartbeat_survives_transient_errors_and_stops_a_run_it_cannot_keep(
    spine, isolated: Path, monkeypatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from mtlx.dispatch.worker import HEARTBEAT_FAILURES_BEFORE_STOP, Heartbeat

    runtime = spine.runtime(isolated / "results.sqlite")
    plan = plan_for(spine)
    from mtlx.provenance import provenance

    claim = runtime.store.claim(plan.config, plan.experiment, provenance("cpu"))
    real = runtime.store.heartbeat
    failures = {"left": 2}

    def flaky(lease):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OperationalError("UPDATE runs", {}, Exception("server closed the connection"))
        return real(lease)

    monkeypatch.setattr(runtime.store, "heartbeat", flaky)
    stop = StopRequest()
    with Heartbeat(runtime.store, claim.lease, stop, interval=0.02):
        deadline = time.monotonic() + 10
        while failures["left"] > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
    assert failures["left"] == 0 and not stop()  # two errors in a row: survived, still training

    failures["left"] = HEARTBEAT_FAILURES_BEFORE_STOP
    with Heartbeat(runtime.store, claim.lease, stop, interval=0.02):
        deadline = time.monotonic() + 10
        while not stop() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert stop() and stop.run_reason().startswith("stopped: no heartbeat reached the database")


def test_a_solver_fed_non_finite_gradients_ends_the_run_as_divergence(
    spine, isolated: Path
) -> None:
    """Nash-MTL at a learning rate that blows the network up: an outcome, never FAILED."""
    spec = spine.spec(*SIZES, epochs=EPOCHS)
    plan = RunPlan(spec.run_config(spec.tasks, "nash-mtl", "sgd", 1e6, 0), spec.name)
    runtime = spine.runtime(isolated / "results.sqlite")
    assert run_sweep([plan], runtime).counts() == {"FINISHED": 1}
    run = runtime.store.run(plan.run_key)
    assert run.error is None and "diverged" in run.note
    assert run.epochs_completed < EPOCHS
    # re-running the sweep does not retry it
    assert run_sweep([plan], runtime).already_finished == 1
