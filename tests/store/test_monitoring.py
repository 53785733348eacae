"""The queries behind ``mtlx status``, ``show``, ``retry``, ``cancel``, ``export`` and ``db info``,
on SQLite and on a real PostgreSQL (``store_url``): runs written through the store's own
lifecycle, then read back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from mtlx.store.entities import ResumePoint
from mtlx.store.monitoring import (
    ExportFilter,
    RunFilter,
    RunSelectionError,
    database_counts,
    epoch_metric_chunks,
    error_line,
    parse_status,
    resolve_run_keys,
    select_runs,
    selected_epoch_frame,
    sweep_status,
)
from mtlx.store.runs import RunStore
from mtlx.store.schema import Run, RunStatus
from recorded_runs import SLURM_WORKER, TRACEBACK


def metrics(epoch: int) -> dict[str, dict[str, float]]:
    return {
        "train": {"left.loss": 1.0 / epoch},
        "val": {"left.acc": 0.5 + epoch / 100, "selection_score": 1.0 / epoch},
        "test": {"left.acc": 0.4 + epoch / 100},
    }


def shift_clock(store: RunStore, run_key: str, **ago: timedelta) -> None:
    """Move a run's recorded times into the past (``started_at=timedelta(minutes=30)``…)."""
    now = store.server_time()
    with store.writes() as session, session.begin():
        session.execute(
            update(Run)
            .where(Run.run_key == run_key)
            .values(**{column: now - delta for column, delta in ago.items()})
        )


@pytest.fixture
def sweep(store: RunStore, make_config, provenance) -> dict[str, str]:
    """Five runs of one experiment and one of another: finished, running (resumed, on Slurm),
    failed with a traceback, killed with a checkpoint, and running elsewhere."""
    keys = {}
    finished = store.claim(make_config(seed=0), "demo", provenance)
    for epoch in (1, 2, 3):
        store.record_epoch(finished.lease, epoch, metrics(epoch))
    store.finish(finished.lease, 2, "val_loss", checkpoint_path="/ckpt/selected.pt")
    keys["finished"] = make_config(seed=0).run_key

    # killed after 2 epochs, then resumed by a worker on Slurm that has done 2 more since
    running = store.claim(make_config(seed=1), "demo", provenance)
    store.record_epoch(running.lease, 1, metrics(1))
    store.record_epoch(running.lease, 2, metrics(2), ResumePoint("/ckpt/a1-e2.pt", 2))
    store.fail(running.lease, "stopped by SIGTERM", RunStatus.KILLED)
    resumed = store.claim(make_config(seed=1), "demo", provenance, SLURM_WORKER)
    assert resumed.resume == ResumePoint("/ckpt/a1-e2.pt", 2)
    store.record_epoch(resumed.lease, 3, metrics(3))
    store.record_epoch(resumed.lease, 4, metrics(4))
    keys["running"] = make_config(seed=1).run_key
    shift_clock(
        store, keys["running"], started_at=timedelta(minutes=10), heartbeat_at=timedelta(seconds=40)
    )

    failed = store.claim(make_config(seed=2), "demo", provenance)
    store.record_epoch(failed.lease, 1, metrics(1))
    store.fail(failed.lease, TRACEBACK)
    keys["failed"] = make_config(seed=2).run_key

    killed = store.claim(make_config(seed=3), "demo", provenance)
    store.record_epoch(killed.lease, 1, metrics(1), ResumePoint("/ckpt/a1-e1.pt", 1))
    store.fail(
        killed.lease,
        "cancelled: by alice at epoch 2 step 3; resumes from checkpoint a1-e1-s3.pt\nmore",
        RunStatus.KILLED,
        ResumePoint("/ckpt/a1-e1-s3.pt", 1),
    )
    keys["killed"] = make_config(seed=3).run_key

    other = store.claim(make_config(seed=0, method="uw"), "other", provenance)
    keys["other"] = make_config(seed=0, method="uw").run_key
    assert other.lease is not None
    return keys


def test_status_counts_by_experiment_kind_and_status(store: RunStore, sweep) -> None:
    status = sweep_status(store)
    assert [(c.experiment, c.kind, c.status, c.runs) for c in status.counts] == [
        ("demo", "mtl", "FAILED", 1),
        ("demo", "mtl", "FINISHED", 1),
        ("demo", "mtl", "KILLED", 1),
        ("demo", "mtl", "RUNNING", 1),
        ("other", "mtl", "RUNNING", 1),
    ]
    assert status.total() == 5 and status.total("RUNNING") == 2
    only_demo = sweep_status(store, experiment="demo")
    assert only_demo.total() == 4
    assert [r.run_key for r in only_demo.running] == [sweep["running"]]
    assert sweep_status(store, dataset="nyuv2").counts == []


def test_a_running_run_shows_its_progress_eta_heartbeat_and_worker(store: RunStore, sweep) -> None:
    status = sweep_status(store, experiment="demo")
    (run,) = status.running
    assert (run.epochs_completed, run.epochs, run.resumed_from_epoch) == (4, 20, 2)
    assert run.label == "ew adam lr=0.001 seed=1"
    assert run.worker == {"host": "node-7", "pid": 4242, "gpu": 1, "slot": 0, "executor": "slurm"}
    assert run.slurm_job_id == "81234_5"
    # the database's clock: the heartbeat was set 40 s before it, read a moment later
    assert timedelta(seconds=40) <= run.heartbeat_age(status.now) < timedelta(seconds=70)
    # 2 epochs in this attempt's 10 minutes, 16 left: 80 minutes (read a moment later)
    eta = run.eta(status.now)
    assert timedelta(minutes=80) <= eta < timedelta(minutes=82)


def test_eta_is_unknown_before_the_attempts_first_epoch(store: RunStore, sweep) -> None:
    (run,) = sweep_status(store, experiment="other").running
    assert run.epochs_completed == 0 and run.eta(store.server_time()) is None


def test_failures_say_what_happened_most_recent_first(store: RunStore, sweep) -> None:
    stopped = sweep_status(store, experiment="demo").stopped
    assert [(r.run_key, r.status) for r in stopped] == [
        (sweep["killed"], "KILLED"),
        (sweep["failed"], "FAILED"),
    ]
    assert stopped[0].error_line.startswith("cancelled: by alice at epoch 2 step 3")
    assert stopped[0].checkpoint_epoch == 1
    assert stopped[1].error_line == "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"


def test_the_error_line_of_a_long_traceback_is_read_from_its_tail(store, sweep) -> None:
    long = TRACEBACK.replace("    loss.backward()\n", "    loss.backward()\n" * 2000)
    shift = store.writes()
    with shift as session, session.begin():
        session.execute(update(Run).where(Run.run_key == sweep["failed"]).values(error=long))
    (failed,) = [r for r in sweep_status(store).stopped if r.status == "FAILED"]
    assert failed.error_line == "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"


@pytest.mark.parametrize(
    ("head", "tail", "line"),
    [
        (TRACEBACK, TRACEBACK, "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"),
        # a traceback whose start was cut off when stored
        ('  File "x.py", line 1\n    f()\nValueError: bad\n', None, "ValueError: bad"),
        ("interrupted (KeyboardInterrupt)", None, "interrupted (KeyboardInterrupt)"),
        ("first line\nsecond line", "first line\nsecond line", "first line"),
        (None, None, ""),
    ],
)
def test_error_line(head, tail, line) -> None:
    assert error_line(head, tail) == line


def test_run_keys_resolve_from_unique_prefixes(store: RunStore, sweep) -> None:
    key = sweep["failed"]
    assert resolve_run_keys(store, [key, key[:6], key[:6].upper()]) == [key, key, key]
    with pytest.raises(RunSelectionError, match=r"no run 'ffffffffffffffff' in this database"):
        resolve_run_keys(store, ["ffffffffffffffff"])
    with pytest.raises(RunSelectionError, match=r"'x%' is not a run key"):
        resolve_run_keys(store, ["x%"])
    with pytest.raises(RunSelectionError, match=r"is not a run key"):
        resolve_run_keys(store, [""])


def test_an_ambiguous_prefix_names_the_runs_it_matches(
    store: RunStore, make_config, provenance
) -> None:
    # 17 keys over 16 hex digits: two of them share their first digit
    keys = [make_config(seed=seed).run_key for seed in range(17)]
    for seed in range(17):
        store.claim(make_config(seed=seed), "demo", provenance)
    digit = next(d for d in "0123456789abcdef" if sum(k.startswith(d) for k in keys) > 1)
    matching = sorted(k for k in keys if k.startswith(digit))
    with pytest.raises(RunSelectionError) as refused:
        resolve_run_keys(store, [digit])
    message = str(refused.value)
    assert f"prefix '{digit}' is ambiguous: it matches {len(matching)} runs" in message
    assert matching[0] in message and "give more digits" in message


def test_statuses_parse_in_any_case_and_only_real_ones() -> None:
    assert parse_status("failed") is RunStatus.FAILED
    assert parse_status(" Killed ") is RunStatus.KILLED
    with pytest.raises(
        RunSelectionError, match=r"'DONE' is not RUNNING, FINISHED, FAILED or KILLED"
    ):
        parse_status("DONE")
    with pytest.raises(RunSelectionError, match=r"'running' is not FAILED or KILLED"):
        parse_status("running", (RunStatus.FAILED, RunStatus.KILLED))


def test_select_runs_by_filter_or_by_key(store: RunStore, sweep) -> None:
    stopped = (RunStatus.FAILED, RunStatus.KILLED)
    chosen = select_runs(store, RunFilter(stopped, experiment="demo"))
    assert [r.run_key for r in chosen] == [sweep["failed"], sweep["killed"]]
    assert chosen[1].checkpoint_path == "/ckpt/a1-e1-s3.pt" and chosen[1].checkpoint_epoch == 1
    assert select_runs(store, RunFilter(stopped, method="uw")) == []
    by_key = select_runs(store, RunFilter(stopped, run_keys=(sweep["killed"][:8],)))
    assert [r.run_key for r in by_key] == [sweep["killed"]]
    running = select_runs(store, RunFilter((RunStatus.RUNNING,), dataset="multimnist"))
    assert {r.run_key for r in running} == {sweep["running"], sweep["other"]}
    assert {r.slurm_job_id for r in running} == {"81234_5", None}


def test_a_named_run_in_another_status_is_refused_with_what_to_do(store, sweep) -> None:
    stopped = (RunStatus.FAILED, RunStatus.KILLED)
    with pytest.raises(RunSelectionError, match=r"is RUNNING, not FAILED or KILLED.*mtlx cancel"):
        select_runs(store, RunFilter(stopped, run_keys=(sweep["running"],)))
    with pytest.raises(RunSelectionError, match=r"is FINISHED.*never trained again"):
        select_runs(store, RunFilter(stopped, run_keys=(sweep["finished"],)))
    with pytest.raises(RunSelectionError, match=r"run keys or filters"):
        RunFilter(stopped, run_keys=(sweep["failed"],), dataset="multimnist")


def test_a_claim_that_does_not_resume_starts_at_epoch_0(
    store: RunStore, sweep, make_config, provenance
) -> None:
    from mtlx.store.runs import ClaimPolicy

    claim = store.claim(make_config(seed=3), "demo", provenance, policy=ClaimPolicy(resume=False))
    assert claim.resume is None and claim.reason == "retry KILLED"
    assert store.epoch_history(sweep["killed"]).empty
    assert store.run(sweep["running"]).checkpoint_path == "/ckpt/a1-e2.pt"  # untouched


def test_the_selected_epoch_frame_has_identity_provenance_and_metrics(store, sweep) -> None:
    frame = selected_epoch_frame(store, ExportFilter())
    assert list(frame["run_key"]) == [sweep["finished"]] * 3
    assert list(frame["split"]) == ["test", "train", "val"]
    val = frame[frame["split"] == "val"].iloc[0]
    assert val["left.acc"] == pytest.approx(0.52) and val["selected_epoch"] == 2
    assert val["selection_score"] == pytest.approx(0.5)
    assert frame[frame["split"] == "test"].iloc[0]["left.loss"] != frame.iloc[0]["left.loss"]
    assert (val["method"], val["seed"], val["status"]) == ("ew", 0, "FINISHED")
    assert val["git_commit"] == "test-commit" and '"name": "multimnist"' in val["config"]
    assert selected_epoch_frame(store, ExportFilter(method="uw")).empty


def test_epoch_chunks_are_long_and_typed_and_never_none(store: RunStore, sweep) -> None:
    chunks = list(epoch_metric_chunks(store, ExportFilter(experiment="demo"), chunk_rows=7))
    assert len(chunks) > 1 and all(len(chunk) <= 7 for chunk in chunks)
    rows = sum(len(chunk) for chunk in chunks)
    # finished 3 epochs, running 4, failed 1; the killed run's one epoch: 4 metrics each
    assert rows == (3 + 4 + 1 + 1) * 4
    assert {str(chunk["value"].dtype) for chunk in chunks} == {"float64"}
    (empty,) = epoch_metric_chunks(store, ExportFilter(dataset="celeba"))
    assert empty.empty and str(empty["epoch"].dtype) == "int64"


def test_database_counts(store: RunStore, sweep) -> None:
    counts = database_counts(store)
    assert counts.by_status == {"FAILED": 1, "FINISHED": 1, "KILLED": 1, "RUNNING": 2}
    assert counts.by_dataset == {"multimnist": 5} and counts.runs == 5
    assert counts.epoch_rows == (3 + 4 + 1 + 1) * 4
