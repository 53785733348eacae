"""Watching and managing runs from the command line: ``status``, ``show``, ``export``, ``runs
--status``, ``db info``, ``retry`` and ``cancel``, on real SQLite databases written through the
store's lifecycle — and, for ``cancel`` and ``retry``, on runs really training."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update

from mtlx.dispatch.plan import RunPlan
from mtlx.dispatch.sweep import run_sweep
from mtlx.methods import METHODS
from mtlx.provenance import provenance
from mtlx.store.database import head_revision, open_database
from mtlx.store.entities import Holder, ResumePoint
from mtlx.store.runs import RunStore
from mtlx.store.schema import Run, RunStatus
from recorded_runs import SLURM_WORKER, TRACEBACK


def metrics(epoch: int) -> dict[str, dict[str, float]]:
    return {
        "train": {"left.loss": 1.0 / epoch, "right.loss": 2.0 / epoch},
        "val": {"left.acc": 0.5 + epoch / 100, "right.acc": 0.25 + epoch / 100},
        "test": {"left.acc": 0.4 + epoch / 100, "right.acc": 0.2 + epoch / 100},
    }


def open_store(db: Path) -> RunStore:
    return RunStore(open_database(str(db)))


def record_runs(spine, db: str, folder: Path) -> dict[str, str]:
    """A finished, a running (on Slurm), a failed and a killed run of one experiment in ``db``."""
    store = RunStore(open_database(db))
    spec = spine.spec(epochs=20)
    where = provenance("cpu")
    keys = {}
    for name, seed in (("finished", 0), ("running", 1), ("failed", 2), ("killed", 3)):
        config = spec.run_config(spec.tasks, "ew", "adam", 1e-3, seed)
        holder = SLURM_WORKER if name == "running" else None
        lease = store.claim(config, spec.name, where, holder).lease
        store.set_data(lease, {}, {t: {"primary": f"{t}.acc", "metrics": {f"{t}.acc": True}}
                                   for t in spec.tasks})  # fmt: skip
        for epoch in (1, 2, 3):
            point = ResumePoint(str(folder / f"{name}-e{epoch}.pt"), epoch)
            store.record_epoch(lease, epoch, metrics(epoch), point)
        if name == "finished":
            store.finish(lease, 2, "val_loss", checkpoint_path=str(folder / "selected.pt"))
        elif name == "failed":
            store.fail(lease, TRACEBACK)
        elif name == "killed":
            store.fail(lease, "cancelled: by alice at epoch 4 step 1", RunStatus.KILLED)
        keys[name] = config.run_key
    now = store.server_time()
    with store.writes() as session, session.begin():
        session.execute(
            update(Run)
            .where(Run.run_key == keys["running"])
            .values(started_at=now - timedelta(minutes=3), heartbeat_at=now - timedelta(seconds=5))
        )
    (folder / "selected.pt").write_bytes(b"0" * 2048)
    store.engine.dispose()
    return keys


@pytest.fixture
def recorded(spine, isolated: Path) -> tuple[Path, dict[str, str]]:
    db = isolated / "results.sqlite"
    return db, record_runs(spine, str(db), isolated)


# ---- status ------------------------------------------------------------------------------------


def test_status_shows_counts_the_running_run_and_the_failures(spine, recorded) -> None:
    db, keys = recorded
    result = spine.invoke("status", "--db", str(db))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("all experiments: 4 runs at ")
    assert "UTC (database clock)" in lines[0]
    (counts,) = [line for line in lines if line.split()[:2] == ["multimnist", "mtl"]]
    assert counts.split()[2:] == ["1", "1", "1", "1", "4"]  # running, finished, failed, killed
    (running,) = [line for line in lines if line.startswith(f" {keys['running'][:10]} ")]
    # 3 epochs in 3 minutes, 17 to go: 17 minutes; heartbeat 5 s ago (when written)
    epoch, eta, eta_unit, heartbeat, heartbeat_unit = running.split()[1:6]
    assert (epoch, eta, eta_unit, heartbeat_unit) == ("3/20", "17", "min", "s")
    assert 5 <= int(heartbeat) < 60
    assert "ew adam lr=0.001 seed=1" in running
    assert "node-7:4242 gpu=1 slot=0 slurm=81234_5" in result.output
    assert "executor" not in result.output
    assert f"{keys['failed'][:10]}   FAILED" in result.output
    assert "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB" in result.output
    assert "cancelled: by alice at epoch 4 step 1" in result.output
    assert keys["finished"][:10] not in result.output


def test_status_of_one_experiment_or_dataset(spine, recorded, tmp_path: Path) -> None:
    db, _ = recorded
    assert "multimnist: 4 runs" in spine.invoke("status", "multimnist", "--db", str(db)).output
    by_file = spine.invoke("status", str(spine.experiment_file), "--db", str(db))
    assert by_file.output.startswith("multimnist: 4 runs")
    missing = spine.invoke("status", "nyuv2", "--db", str(db))
    assert missing.exit_code == 0
    assert spine.flat(missing.output) == (
        "nyuv2: no runs in this database (experiments recorded: multimnist)"
    )
    dataset = spine.invoke("status", "--dataset", "multimnist", "--failures", "1", "--db", str(db))
    assert "failed or killed (2, the 1 most recent)" in dataset.output


def test_status_watch_in_a_pipe_prints_every_refresh(spine, recorded) -> None:
    db, _ = recorded
    result = spine.invoke(
        "status", "--watch", "--interval", "0.1", "--updates", "3", "--db", str(db)
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("all experiments: 4 runs at ") == 3


def test_status_reads_the_database_without_torch(recorded) -> None:
    db, _ = recorded
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mtlx.cli import app\n"
        f"result = CliRunner().invoke(app, ['status', '--db', {str(db)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ---- show --------------------------------------------------------------------------------------


def test_show_prints_config_attempts_metrics_and_checkpoint(spine, recorded, isolated) -> None:
    db, keys = recorded
    result = spine.invoke("show", keys["finished"][:7], "--db", str(db))
    assert result.exit_code == 0, result.output
    output = result.output
    assert f"run {keys['finished']}" in output
    assert f"{isolated / 'selected.pt'} (selected weights; 2.0 KB)" in spine.flat(output)
    assert "selected epoch 2 (val_loss)" in spine.flat(output)
    assert "method: {name: ew}" in output and "lr: 0.001" in output  # the config, as YAML
    assert "new" in output and "FINISHED" in output  # the attempt
    # val metrics: epochs × metrics, the selected epoch marked
    val = output[output.index("val metrics by epoch") :]
    header = val.splitlines()[1].split()
    assert header == ["epoch", "left.acc", "right.acc"]
    rows = [line.split() for line in val.splitlines()[3:6]]
    assert rows == [
        ["1", "0.5100", "0.2600"],
        ["*2", "0.5200", "0.2700"],
        ["3", "0.5300", "0.2800"],
    ]


def test_show_a_failed_run_prints_its_error(spine, recorded) -> None:
    db, keys = recorded
    result = spine.invoke("show", keys["failed"], "--db", str(db), "--split", "test")
    assert result.exit_code == 0
    assert "RuntimeError: CUDA out of memory" in result.output
    assert "resumes from epoch 3" in result.output and "not on this machine" in result.output
    assert "test metrics by epoch" in result.output
    assert "val metrics by epoch" not in result.output
    unknown = spine.invoke("show", keys["failed"], "--db", str(db), "--split", "validation")
    assert unknown.exit_code == 2
    assert unknown.output.strip() == "error: --split validation: not a split (train, val or test)"


def test_show_json_holds_the_run_its_attempts_and_every_epoch(spine, recorded) -> None:
    db, keys = recorded
    result = spine.invoke("show", keys["running"], "--json", "--db", str(db))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["run_key"] == keys["running"] and shown["status"] == "RUNNING"
    assert shown["config"]["training"]["epochs"] == 20
    assert shown["worker"]["gpu"] == 1 and shown["slurm_job_id"] == "81234_5"
    assert [a["reason"] for a in shown["attempts"]] == ["new"]
    assert shown["metrics"]["val"][2] == pytest.approx(
        {"epoch": 3, "left.acc": 0.53, "right.acc": 0.28}
    )
    assert "owner_token" not in shown


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("0000000000000000", "error: no run '0000000000000000' in this database"),
        ("zz", "error: 'zz' is not a run key: run keys are 16 hex digits"),
    ],
)
def test_show_refuses_an_unknown_key_in_one_line(spine, recorded, argument, message) -> None:
    db, _ = recorded
    result = spine.invoke("show", argument, "--db", str(db))
    assert result.exit_code == 2
    assert result.output.startswith(message) and len(result.output.splitlines()) == 1


def test_show_spreads_many_metrics_over_tables_that_fit_the_width() -> None:
    from rich.console import Console

    from mtlx.cli.watch import metric_tables

    names = [f"attribute_{i:02d}.acc" for i in range(40)]
    history = pd.DataFrame(
        [(epoch, "val", name, 0.5) for epoch in (1, 2) for name in names],
        columns=["epoch", "split", "metric", "value"],
    )
    for width in (80, 100):
        console = Console(width=width, record=True, file=io.StringIO())
        tables = metric_tables(history, 2, width, None)
        for table in tables:
            console.print(table)
        text = console.export_text()
        assert max(len(line.rstrip()) for line in text.splitlines()) <= width
        assert all(name in text for name in names)  # no column cut
        assert text.count("*2") == len(tables) > 1


def test_the_commands_on_postgresql(spine, postgresql_url: str, isolated: Path) -> None:
    keys = record_runs(spine, postgresql_url, isolated)
    db = ["--db", postgresql_url]
    status = spine.invoke("status", *db)
    assert status.exit_code == 0, status.output
    assert "all experiments: 4 runs" in status.output
    assert "RuntimeError: CUDA out of memory" in status.output
    assert " 3/20   17 min " in status.output
    shown = json.loads(spine.invoke("show", keys["running"][:6], "--json", *db).output)
    assert shown["metrics"]["test"][0] == pytest.approx({"epoch": 1, "left.acc": 0.41,
                                                         "right.acc": 0.21})  # fmt: skip
    epochs = isolated / "epochs.parquet"
    exported = spine.invoke("export", "--epochs", "--format", "parquet", "-o", str(epochs), *db)
    assert exported.exit_code == 0, exported.output
    assert len(pd.read_parquet(epochs)) == 4 * 3 * 6
    info = spine.invoke("db", "info", *db)
    assert "(postgresql)" in info.output and "checkpoints" not in info.output
    cancelled = spine.invoke("cancel", "--experiment", "multimnist", "--reason", "pg", *db)
    assert "asked 1 running run(s) to stop" in cancelled.output
    assert RunStore(open_database(postgresql_url)).run(keys["running"]).stop_requested == "pg"


# ---- export ------------------------------------------------------------------------------------


def test_export_csv_to_stdout_reads_back_with_pandas(spine, recorded) -> None:
    db, keys = recorded
    result = spine.invoke("export", "--db", str(db))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.output))
    assert list(frame["run_key"]) == [keys["finished"]] * 3
    assert list(frame["split"]) == ["test", "train", "val"]
    val = frame[frame["split"] == "val"].iloc[0]
    assert (val["left.acc"], val["right.acc"]) == pytest.approx((0.52, 0.27))
    assert val["selected_epoch"] == 2
    assert json.loads(val["config"])["method"] == {"name": "ew"}


def test_export_parquet_selected_and_per_epoch(spine, recorded, isolated: Path) -> None:
    db, keys = recorded
    selected = isolated / "runs.parquet"
    result = spine.invoke(
        "export", "--format", "parquet", "--output", str(selected), "--db", str(db)
    )
    assert result.exit_code == 0, result.output
    assert "wrote 3 rows to" in result.output
    frame = pd.read_parquet(selected)
    assert frame.loc[frame["split"] == "test", "left.acc"].item() == pytest.approx(0.42)
    assert str(frame["finished_at"].dtype).startswith("datetime64")

    epochs = isolated / "epochs.parquet"
    result = spine.invoke(
        "export", "--epochs", "--status", "failed", "--format", "parquet",
        "--output", str(epochs), "--db", str(db),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    long = pd.read_parquet(epochs)
    assert set(long["run_key"]) == {keys["failed"]}
    assert len(long) == 3 * 6  # 3 epochs × (2 train + 2 val + 2 test metrics)
    assert long.query("epoch == 2 and split == 'val' and metric == 'left.acc'")["value"].item() == (
        pytest.approx(0.52)
    )
    csv = isolated / "epochs.csv"
    spine.invoke("export", "--epochs", "--output", str(csv), "--db", str(db))
    assert len(pd.read_csv(csv)) == 4 * 3 * 6
    assert not list(isolated.glob(".*.partial"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--format", "xlsx"], "--format must be one of csv, parquet, got 'xlsx'"),
        (["--format", "parquet"], "--format parquet writes a file: give it with --output FILE"),
        (["--status", "FAILED"], "--status needs --epochs"),
        (["--epochs", "--status", "broken"], "--status: 'broken' is not RUNNING, FINISHED"),
    ],
)
def test_export_refuses_bad_flags_in_one_line(spine, recorded, arguments, message) -> None:
    db, _ = recorded
    result = spine.invoke("export", *arguments, "--db", str(db))
    assert result.exit_code == 2
    assert message in spine.flat(result.output)


# ---- runs --status, db info --------------------------------------------------------------------


def test_runs_status_takes_any_case_and_only_real_statuses(spine, recorded) -> None:
    db, keys = recorded
    listed = spine.invoke("runs", "--status", "killed", "--db", str(db))
    assert listed.exit_code == 0 and "1 run(s)" in listed.output
    assert keys["killed"] in listed.output
    refused = spine.invoke("runs", "--status", "done", "--db", str(db))
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        "error: --status: 'done' is not RUNNING, FINISHED, FAILED or KILLED (any case)"
    )


def test_db_info_is_a_table(spine, recorded, isolated: Path) -> None:
    db, _ = recorded
    folder = isolated / "results.checkpoints" / "some-run"
    folder.mkdir(parents=True)
    (folder / "a1-e1.pt").write_bytes(b"0" * 1500)
    result = spine.invoke("db", "info", "--db", str(db))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in result.output.splitlines()}
    assert rows["database"] == f"{db.resolve()} (sqlite)"
    assert rows["schema"] == f"{head_revision()} (the latest)"
    assert rows["runs"] == "4 (72 epoch metric rows)"
    assert (rows["FAILED"], rows["FINISHED"], rows["KILLED"], rows["RUNNING"]) == ("1",) * 4
    assert rows["multimnist"] == "4"
    checkpoints = isolated / "results.checkpoints"
    assert rows["checkpoints"] == f"{checkpoints} (the default): 1.5 KB in 1 file(s)"


# ---- cancel and retry --------------------------------------------------------------------------


@pytest.fixture
def slow_method():
    """EW whose steps each take 50 ms. It fails once, at its ``fail_at``-th step ever, when
    ``fail_at`` is set; with ``pause_at`` set, that step says it got there (``reached``) and waits
    until ``resume`` is set — so that a test cancels a run while it is certainly training."""
    from mtlx.methods import LossWeighting

    class Slow(LossWeighting):
        fail_at: int | None = None
        pause_at: int | None = None
        reached = threading.Event()
        resume = threading.Event()
        steps = 0

        def combine(self, losses):
            type(self).steps += 1
            if type(self).steps == type(self).fail_at:
                raise RuntimeError("a transient failure")
            if type(self).steps == type(self).pause_at:
                self.reached.set()
                assert self.resume.wait(timeout=120)
            time.sleep(0.05)
            self.task_weights = losses.detach() * 0 + 1
            return losses.sum()

    name = "slow-ew"
    METHODS.register(name)(Slow)
    yield Slow
    del METHODS._entries[name]


def slow_plan(spine, epochs: int = 6) -> RunPlan:
    spec = spine.spec("training.batch_size=64", epochs=epochs)
    return RunPlan(spec.run_config(spec.tasks, "slow-ew", "adam", 1e-3, 0), spec.name)


def test_cancel_stops_a_training_run_killed_and_retry_resumes_it(
    spine, slow_method, isolated: Path
) -> None:
    db = isolated / "results.sqlite"
    plan = slow_plan(spine)
    slow_method.pause_at = 6  # the second step of epoch 2 (4 steps an epoch)
    worker = spine.runtime(db, heartbeat_s=0.05)
    summary = {}
    training = threading.Thread(target=lambda: summary.update(s=run_sweep([plan], worker)))
    training.start()
    assert slow_method.reached.wait(timeout=120)
    store = open_store(db)
    cancelled = spine.invoke("cancel", plan.run_key[:8], "--reason", "by the test", "--db", str(db))
    time.sleep(0.5)  # ten heartbeats: the worker has seen the request
    slow_method.resume.set()
    training.join(timeout=120)
    assert cancelled.exit_code == 0, cancelled.output
    assert "asked 1 running run(s) to stop" in cancelled.output
    assert summary["s"].counts() == {"KILLED": 1}
    killed = store.run(plan.run_key)
    assert killed.status == "KILLED"
    assert killed.error.startswith("cancelled: by the test at epoch 2 step 2")
    assert killed.checkpoint_path is not None and Path(killed.checkpoint_path).is_file()

    dry = spine.invoke("retry", "--dry-run", "--db", str(db))
    assert f"{plan.run_key[:10]}  KILLED  slow-ew adam lr=0.001 seed=0  from epoch" in dry.output
    assert "1 runs would be retried" in dry.output
    retried = spine.invoke("retry", "--status", "Killed", "--device", "cpu", "--db", str(db))
    assert retried.exit_code == 0, retried.output
    run = store.run(plan.run_key)
    assert (run.status, run.epochs_completed, run.attempt) == ("FINISHED", 6, 2)
    attempts = store.attempts(plan.run_key)
    assert attempts[1].reason.startswith("resume KILLED from epoch")
    assert attempts[1].resumed_from_epoch == killed.checkpoint_epoch

    # the resumed run's metrics are those of the same run trained without interruption
    reference = spine.runtime(isolated / "reference.sqlite")
    assert run_sweep([plan], reference).counts() == {"FINISHED": 1}

    def history(store: RunStore) -> pd.DataFrame:
        frame = store.epoch_history(plan.run_key).drop(columns="attempt")
        return frame.sort_values(["epoch", "split", "metric"], ignore_index=True)

    pd.testing.assert_frame_equal(history(store), history(reference.store))


def test_retry_resumes_a_failed_run_or_starts_it_again(spine, slow_method, isolated) -> None:
    db = isolated / "results.sqlite"
    plan = slow_plan(spine, epochs=3)
    slow_method.fail_at = 6  # the second step of epoch 2 (4 steps an epoch)
    assert run_sweep([plan], spine.runtime(db)).counts() == {"FAILED": 1}
    store = open_store(db)
    failed = store.run(plan.run_key)
    assert (failed.checkpoint_epoch, failed.epochs_completed) == (1, 1)
    status = spine.invoke("status", "--db", str(db))
    assert "RuntimeError: a transient failure" in status.output

    resumed = spine.invoke("retry", plan.run_key, "--device", "cpu", "--db", str(db))
    assert resumed.exit_code == 0, resumed.output
    assert store.attempts(plan.run_key)[1].reason == "resume FAILED from epoch 1"
    assert store.run(plan.run_key).status == "FINISHED"

    again = spine.invoke("retry", plan.run_key, "--from-scratch", "--db", str(db))
    assert again.exit_code == 2
    assert "is FINISHED, not FAILED or KILLED (a finished run is never trained again)" in (
        spine.flat(again.output)
    )


def test_retry_from_scratch_starts_at_epoch_0(spine, slow_method, isolated: Path) -> None:
    db = isolated / "results.sqlite"
    plan = slow_plan(spine, epochs=2)
    slow_method.fail_at = 6
    assert run_sweep([plan], spine.runtime(db)).counts() == {"FAILED": 1}
    result = spine.invoke("retry", "--from-scratch", "--device", "cpu", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "from epoch 0" in result.output
    store = open_store(db)
    second = store.attempts(plan.run_key)[1]
    assert (second.reason, second.resumed_from_epoch) == ("retry FAILED", None)
    assert set(store.epoch_history(plan.run_key)["attempt"]) == {2}


def test_retry_with_nothing_to_retry_says_so(spine, recorded) -> None:
    db, _ = recorded
    result = spine.invoke("retry", "--method", "uw", "--db", str(db))
    assert result.exit_code == 0
    assert result.output.strip() == "no FAILED or KILLED run matches: nothing to retry"
    refused = spine.invoke("retry", "--status", "running", "--db", str(db))
    assert refused.exit_code == 2
    assert "--status: 'running' is not FAILED or KILLED" in refused.output


def test_cancel_needs_a_choice_and_names_what_it_could_not_cancel(
    spine, recorded, monkeypatch, isolated: Path
) -> None:
    db, keys = recorded
    refused = spine.invoke("cancel", "--db", str(db))
    assert refused.exit_code == 2
    assert "name the runs to cancel" in refused.output
    # the run is trained in a Slurm job, and this machine has no scancel
    monkeypatch.setenv("PATH", str(isolated))
    result = spine.invoke("cancel", "--all", "--db", str(db))
    assert result.exit_code == 1
    assert "asked 1 running run(s) to stop" in result.output
    assert "scancel is not on PATH: Slurm job(s) 81234_5 were not cancelled" in spine.flat(
        result.output
    )
    assert open_store(db).run(keys["running"]).stop_requested.startswith("mtlx cancel by ")


def test_cancel_ends_the_slurm_job_of_a_run(spine, slurm_cluster, isolated: Path) -> None:
    job = slurm_cluster.submit(f"--chdir={isolated}", "--output=job.out", "--wrap", "sleep 300")
    slurm_cluster.wait_for(job, ["RUNNING"])
    db = isolated / "results.sqlite"
    store = open_store(db)
    spec = spine.spec()
    config = spec.run_config(spec.tasks, "ew", "adam", 1e-3, 0)
    in_the_job = Holder(host="node", pid=1, process_started=1, boot_id="b", slurm_job_id=job)
    store.claim(config, spec.name, provenance("cpu"), in_the_job)
    result = spine.invoke("cancel", config.run_key, "--db", str(db))
    assert result.exit_code == 0, result.output
    assert f"cancelled Slurm job(s) {job}" in result.output
    slurm_cluster.wait_for(job, ["CANCELLED"], timeout=30.0)
    assert store.run(config.run_key).stop_requested.startswith("mtlx cancel by ")
