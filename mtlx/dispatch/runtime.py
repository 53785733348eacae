"""What a worker process is told (picklable configuration) and what it builds for itself.

A :class:`WorkerConfig` crosses process boundaries — to a pool's worker processes, into a Slurm
job — as plain values: the database URL, the device, where data and checkpoints live, how to
train. Each process then builds its own :class:`WorkerRuntime`: a connection to the store and a
cache of the datasets it has loaded. Nothing holding an engine, a thread or a console crosses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtlx.dispatch.progress import NullReporter, Reporter
from mtlx.spec import RunConfig, stable_hash
from mtlx.store.database import database_url, open_database, sqlite_path
from mtlx.store.entities import Holder
from mtlx.store.runs import ClaimPolicy, RunStore

if TYPE_CHECKING:
    from mtlx.data import DatasetSplits

KEEP_POLICIES = ("selected", "last", "none")
HEARTBEAT_SECONDS = 30.0
DEFAULT_STALE_AFTER_S = 600.0


def default_checkpoint_root(url: str) -> Path:
    """``$MTLX_CHECKPOINTS``, else beside a SQLite file (``results.sqlite`` →
    ``results.checkpoints/``), else ``./mtlx-checkpoints`` (set a shared folder on a cluster)."""
    if os.environ.get("MTLX_CHECKPOINTS"):
        return Path(os.environ["MTLX_CHECKPOINTS"])
    path = sqlite_path(url)
    if path is not None:
        return path.with_name(f"{path.stem}.checkpoints")
    return Path("mtlx-checkpoints")


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs to claim and train runs; plain values only (picklable)."""

    database_url: str
    device: str  # "" until resolved: the machine's default (see with_device)
    checkpoint_root: str
    data_root: str | None = None
    jacobian_mode: str = "auto"
    loader_workers: int = 0
    keep: str = "selected"
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    heartbeat_s: float = HEARTBEAT_SECONDS
    retry_failed: bool = True
    resume: bool = True  # False: retried runs start again at epoch 0 (`retry --from-scratch`)
    worker: dict[str, Any] = field(default_factory=dict)  # slot, gpu, executor: recorded per run

    def __post_init__(self) -> None:
        if self.keep not in KEEP_POLICIES:
            raise ValueError(f"--keep must be one of {', '.join(KEEP_POLICIES)}, got {self.keep!r}")
        if not self.stale_after_s > 0:
            raise ValueError(f"--stale-after must be positive, got {self.stale_after_s}")

    @classmethod
    def create(
        cls, db: str | None, device: str, checkpoints: str | Path | None = None, **options: Any
    ) -> WorkerConfig:
        url = database_url(db)
        path = sqlite_path(url)
        if path is not None:  # workers elsewhere (a pool, a Slurm task) may start in another folder
            url = f"sqlite:///{path.resolve()}"
        root = Path(checkpoints) if checkpoints is not None else default_checkpoint_root(url)
        if options.get("data_root") is not None:
            options["data_root"] = str(Path(options["data_root"]).resolve())
        return cls(database_url=url, device=device, checkpoint_root=str(root.resolve()), **options)

    def with_device(self) -> WorkerConfig:
        """This config with its device checked on this machine: ``cpu``, or a ``cuda`` /
        ``cuda:N`` it has; none given means ``cuda`` where available, else ``cpu``. Resolved
        where the runs train (a Slurm task resolves its own, not the login node's)."""
        from mtlx.provenance import check_device, default_device

        return replace(self, device=check_device(self.device or default_device()))

    @property
    def policy(self) -> ClaimPolicy:
        return ClaimPolicy(
            stale_after=timedelta(seconds=self.stale_after_s),
            retry_failed=self.retry_failed,
            resume=self.resume,
        )


class WorkerRuntime:
    """One process's own store connection, dataset cache and identity."""

    def __init__(
        self, config: WorkerConfig, reporter: Reporter | None = None, store: RunStore | None = None
    ) -> None:
        self.config = config
        self.store = store or RunStore(
            open_database(config.database_url),
            stale_after=timedelta(seconds=config.stale_after_s),
        )
        self.reporter: Reporter = reporter or NullReporter()
        self.holder = Holder.current(**config.worker)
        self.policy = config.policy  # a sweep narrows it (``ended_before``) when it starts
        self._datasets: dict[str, DatasetSplits] = {}

    def adopt_datasets(self, datasets: dict[str, DatasetSplits]) -> None:
        """Datasets this process already built, by ``stable_hash(config.dataset)``."""
        self._datasets.update(datasets)

    def dataset(self, config: RunConfig) -> DatasetSplits:
        """Datasets are built once per process and shared by every run that asks for them."""
        from mtlx.data import build_dataset

        key = stable_hash(config.dataset)
        if key not in self._datasets:
            options = {k: v for k, v in config.dataset.items() if k != "name"}
            root = Path(self.config.data_root) if self.config.data_root else None
            self._datasets[key] = build_dataset(config.dataset["name"], root, **options)
        return self._datasets[key]
