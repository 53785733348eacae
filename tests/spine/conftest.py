"""Shared fixtures of the spine's tests: the real experiment file at tiny sizes, real SQLite files.

Every test runs in its own temporary directory with ``$MTLX_EXPERIMENTS`` pointing at the
repository's ``experiments/``, so ``multimnist`` resolves by name and no stray database lands in
the checkout. ``mtlx.provenance.git_commit`` is replaced by a constant: provenance is not under
test here, and the tests must not shell out to git.

Helpers are handed out as fixtures (the suite imports test modules with ``importlib``, so test
files cannot import each other or this file).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import Tensor
from typer.testing import CliRunner, Result

import mtlx.provenance
from mtlx.cli import app
from mtlx.dispatch.runtime import WorkerConfig, WorkerRuntime
from mtlx.methods import METHODS, LossWeighting
from mtlx.spec import ExperimentSpec, load_spec

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT_FILE = REPO / "experiments" / "multimnist.yaml"

# MultiMNIST small enough that one epoch takes a fraction of a second on two CPU cores.
TINY_OVERRIDES = (
    "dataset.train_pairs=256",
    "dataset.val_pairs=64",
    "dataset.test_pairs=64",
    "training.eval_batch_size=64",
)


@dataclass(frozen=True)
class Spine:
    """What the spine's tests share: the real experiment file and ways to run it small."""

    repo: Path = REPO
    experiment_file: Path = EXPERIMENT_FILE
    overrides: tuple[str, ...] = TINY_OVERRIDES

    def spec(self, *overrides: str, epochs: int = 1) -> ExperimentSpec:
        """The real MultiMNIST experiment at tiny sizes, plus ``overrides``."""
        return load_spec(str(EXPERIMENT_FILE)).with_overrides(
            [*TINY_OVERRIDES, f"training.epochs={epochs}", *overrides]
        )

    def flags(self, epochs: int = 1) -> list[str]:
        """The same as command-line flags (``--set …``, ``--epochs``, ``--device cpu``)."""
        sets = [flag for value in TINY_OVERRIDES for flag in ("--set", value)]
        return [*sets, "--epochs", str(epochs), "--device", "cpu"]

    @staticmethod
    def runtime(database: Path | str, **options: object) -> WorkerRuntime:
        """A worker of this process on the SQLite file ``database`` (checkpoints beside it), on
        the CPU; ``options`` override :class:`WorkerConfig` fields (``keep``, ``heartbeat_s``…)."""
        config = WorkerConfig.create(str(database), "cpu", **options)
        return WorkerRuntime(config)

    def invoke(self, *args: str) -> Result:
        """``mtlx *args`` in this process; ``output`` is stdout and stderr together."""
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})

    @staticmethod
    def flat(text: str) -> str:
        """Whitespace collapsed, so that assertions do not depend on line wrapping."""
        return " ".join(text.split())

    @staticmethod
    def isolate(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
        monkeypatch.chdir(folder)
        monkeypatch.setenv("MTLX_EXPERIMENTS", str(REPO / "experiments"))
        monkeypatch.setenv("COLUMNS", "250")  # rich wraps error lines at 80 columns otherwise
        for variable in ("MTLX_DB", "MTLX_DATA"):
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setattr(mtlx.provenance, "git_commit", lambda: "test-commit")


@pytest.fixture(scope="session")
def spine() -> Spine:
    return Spine()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    Spine.isolate(monkeypatch, tmp_path)
    return tmp_path


class StepBomb(LossWeighting):
    """EW that raises ``exception`` on its ``fail_at``-th step: a stand-in for a broken method."""

    exception: type[BaseException] = RuntimeError
    message = "step bomb went off"
    fail_at = 2

    def __init__(self, num_tasks: int) -> None:
        super().__init__(num_tasks)
        self.steps = 0

    def combine(self, losses: Tensor) -> Tensor:
        self.steps += 1
        if self.steps == self.fail_at:
            raise self.exception(self.message)
        self.task_weights = torch.ones_like(losses).detach()
        return losses.sum()


@pytest.fixture
def register_bomb() -> Iterator[Callable[..., str]]:
    """``register_bomb(exception)`` registers a :class:`StepBomb` under a unique method name.

    The name is removed from the registry again when the test ends.
    """
    names: list[str] = []

    def register(exception: type[BaseException] = RuntimeError) -> str:
        name = f"bomb_{uuid.uuid4().hex[:8]}"
        bomb = type(f"StepBomb_{name}", (StepBomb,), {"name": name, "exception": exception})
        METHODS.register(name)(bomb)
        names.append(name)
        return name

    yield register
    for name in names:
        del METHODS._entries[name]
