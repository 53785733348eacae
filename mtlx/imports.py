"""Published or external results, read from a CSV file and checked whole before anything is
stored (``mtlx import``).

Columns: ``dataset, network, method, optimizer, lr`` and optionally ``seed``, then one column per
metric by its stable name (``seg.miou``, ``depth.abs_err``, ``left.acc``), values as mtlx stores
them — fractions, not percentages. ``lr`` may be empty for a single-task baseline (``--baseline``);
a metric cell may be empty where the source reports nothing (that row then has no ΔM
and stays out of Pareto fronts). Any defect — an unknown dataset,
network or metric, a missing column, a value that is not a number, a percentage where a fraction
belongs, a row given twice — rejects the whole file with the row and column named. Method and
optimizer names registered in mtlx are written as mtlx writes them (``EW`` → ``ew``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mtlx.errors import UserError
from mtlx.tasks.kinds import CLASSIFICATION, DEPTH, NORMAL, SEGMENTATION, TaskKind

IDENTITY = ("dataset", "network", "method", "optimizer", "lr")
OPTIONAL = ("seed",)


class ImportFileError(UserError, ValueError):
    """A file that cannot be imported as it is; the message names the row and column."""


def dataset_tasks(dataset: str) -> dict[str, TaskKind]:
    """The tasks a registered dataset defines, each with its kind (what its metrics are)."""
    from mtlx.data.check import CELEBA_ATTRIBUTES

    catalogue: dict[str, dict[str, TaskKind]] = {
        "nyuv2": {"seg": SEGMENTATION, "depth": DEPTH, "normal": NORMAL},
        "cityscapes": {"seg": SEGMENTATION, "depth": DEPTH},
        "multimnist": {"left": CLASSIFICATION, "right": CLASSIFICATION},
        "celeba": {name: CLASSIFICATION for name in CELEBA_ATTRIBUTES},
    }
    return catalogue.get(dataset, {})


def dataset_metrics(dataset: str) -> dict[str, tuple[str, bool, bool]]:
    """Metric name → (task, higher is better, stored as a fraction) for a dataset."""
    return {
        kind.name(task): (task, kind.higher_is_better, kind.percent)
        for task, task_kind in dataset_tasks(dataset).items()
        for kind in task_kind.metric_kinds
    }


@dataclass(frozen=True)
class ImportedRow:
    """One checked row: its identity, the tasks it covers and its metric values."""

    line: int  # 1-based line of the file (the header is line 1)
    dataset: str
    network: str
    method: str
    optimizer: str
    lr: float | None
    seed: int | None
    tasks: tuple[str, ...]
    metrics: dict[str, float]

    def identity(self) -> tuple[object, ...]:
        return (self.dataset, self.network, self.method, self.optimizer, self.lr, self.seed)


@dataclass(frozen=True)
class ImportFile:
    """A file whose every row passed the checks."""

    path: Path
    sha256: str
    rows: tuple[ImportedRow, ...]


def read_import_file(path: Path, baseline: bool = False) -> ImportFile:
    """Read and check ``path`` whole; raise :class:`ImportFileError` on the first defect."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in IDENTITY if name not in header]
    if missing:
        raise ImportFileError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must name "
            f"{', '.join(IDENTITY)}, optionally seed, then metrics by stable name"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ImportFileError(f"{path}: column(s) {', '.join(repeated)} appear more than once")
    metric_columns = [name for name in header if name not in (*IDENTITY, *OPTIONAL)]
    if not metric_columns:
        raise ImportFileError(f"{path}: no metric column after {', '.join(IDENTITY)}")
    rows: list[ImportedRow] = []
    seen: dict[tuple[object, ...], int] = {}
    for line, record in enumerate(reader, start=2):
        if None in record:
            raise ImportFileError(f"{path}, line {line}: more cells than the header has columns")
        cells = {name.strip(): (value or "").strip() for name, value in record.items()}
        if not any(cells.values()):
            continue  # a blank line
        row = _check_row(path, line, cells, metric_columns, baseline)
        if row.identity() in seen:
            raise ImportFileError(
                f"{path}, line {line}: duplicates line {seen[row.identity()]} (same dataset, "
                "network, method, optimizer, lr and seed)"
            )
        seen[row.identity()] = line
        rows.append(row)
    if not rows:
        raise ImportFileError(f"{path}: no rows after the header")
    return ImportFile(path, hashlib.sha256(data).hexdigest(), tuple(rows))


def _check_row(
    path: Path, line: int, cells: Mapping[str, str], metric_columns: list[str], baseline: bool
) -> ImportedRow:
    where = f"{path}, line {line}"
    from mtlx.data import DATASETS
    from mtlx.models import NETWORKS

    for name in IDENTITY:
        if not cells[name] and not (name == "lr" and baseline):
            raise ImportFileError(f"{where}, column {name}: empty")
    dataset = cells["dataset"]
    if dataset not in DATASETS or not dataset_tasks(dataset):
        raise ImportFileError(
            f"{where}, column dataset: unknown dataset {dataset!r}; known: "
            f"{', '.join(n for n in DATASETS.names() if dataset_tasks(n))}"
        )
    network = cells["network"]
    if network not in NETWORKS:
        raise ImportFileError(
            f"{where}, column network: unknown network {network!r}; registered: "
            f"{', '.join(NETWORKS.names())}"
        )
    lr = _number(where, "lr", cells["lr"]) if cells["lr"] else None
    if lr is not None and lr <= 0:
        raise ImportFileError(f"{where}, column lr: must be positive, got {cells['lr']!r}")
    seed = None
    if cells.get("seed"):
        text = cells["seed"]
        if not text.lstrip("-").isdigit():
            raise ImportFileError(f"{where}, column seed: {text!r} is not an integer")
        seed = int(text)
    known = dataset_metrics(dataset)
    metrics: dict[str, float] = {}
    for name in metric_columns:
        if name not in known:
            raise ImportFileError(
                f"{where}, column {name}: not a metric of {dataset}; its metrics: "
                f"{_listing(list(known))}"
            )
        if not cells[name]:
            continue
        value = _number(where, name, cells[name])
        _, _, fraction = known[name]
        if fraction and not 0.0 <= value <= 1.0:
            raise ImportFileError(
                f"{where}, column {name}: {cells[name]} is not a fraction in [0, 1] — mtlx stores "
                "fractions: divide percentages by 100"
            )
        metrics[name] = value
    if not metrics:
        raise ImportFileError(f"{where}: no metric value")
    order = list(dataset_tasks(dataset))
    tasks = tuple(sorted({known[name][0] for name in metrics}, key=order.index))
    return ImportedRow(
        line=line,
        dataset=dataset,
        network=network,
        method=_canonical(cells["method"], "method"),
        optimizer=_canonical(cells["optimizer"], "optimizer"),
        lr=lr,
        seed=seed,
        tasks=tasks,
        metrics=metrics,
    )


def _canonical(name: str, kind: str) -> str:
    """A method or optimizer as mtlx names it when it is registered under another case
    (``EW`` → ``ew``, ``signSGD`` → ``signsgd``), so imports group with trained runs; else as
    written (a method mtlx does not implement)."""
    from mtlx.methods import METHODS
    from mtlx.optim import OPTIMIZERS

    names = METHODS.names() if kind == "method" else OPTIMIZERS.names()
    matches = [known for known in names if known.lower() == name.lower()]
    return matches[0] if matches else name


def _number(where: str, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ImportFileError(f"{where}, column {column}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ImportFileError(f"{where}, column {column}: {text!r} is not a finite number")
    return value


def _listing(names: list[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, … ({len(names)} in all)"
