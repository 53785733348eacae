"""Kinds of task and of metric: what a metric is called in a paper, its direction, its unit.

The task classes build their metrics from these kinds, so a metric's stable name, its direction
(higher or lower is better) and how the field prints it are declared once, here. Reports read
this module without importing torch: a stored metric name ``<task>.<suffix>`` finds its kind by
its suffix.

How the field prints the numbers (the tables of Nash-MTL, FAMO, CAGrad and the seed paper):
mIoU, pixel accuracy, accuracies and the fractions of normals within t° are stored as fractions
and printed as percentages; depth errors as they are; normal angles in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtlx.tasks.base import Metric


@dataclass(frozen=True)
class MetricKind:
    """One kind of metric: ``suffix`` of its stable name, the ``title`` papers print over it,
    ``higher_is_better``, and ``percent`` when a stored fraction is printed × 100."""

    suffix: str
    title: str
    higher_is_better: bool
    percent: bool = False

    def name(self, task: str) -> str:
        """The metric's stable name for ``task`` (``seg.miou``)."""
        return f"{task}.{self.suffix}"

    def display(self, value: float) -> float:
        """``value`` in the unit the field prints it in (× 100 for a percentage)."""
        return 100.0 * value if self.percent else value


@dataclass(frozen=True)
class TaskKind:
    """One kind of task: its metric kinds (the first is primary) and the title that groups its
    columns in a table; ``title`` None means tasks of this kind are titled by their own name
    (the 40 CelebA attributes, MultiMNIST's left and right digits)."""

    key: str
    title: str | None
    metric_kinds: tuple[MetricKind, ...]

    def metrics(self, task: str) -> tuple[Metric, ...]:
        return tuple(Metric(kind.name(task), kind.higher_is_better) for kind in self.metric_kinds)

    def primary_metric(self, task: str) -> str:
        return self.metric_kinds[0].name(task)

    def title_of(self, task: str) -> str:
        return self.title or task


MIOU = MetricKind("miou", "mIoU", higher_is_better=True, percent=True)
PIXEL_ACCURACY = MetricKind("pix_acc", "Pix Acc", higher_is_better=True, percent=True)
ABSOLUTE_ERROR = MetricKind("abs_err", "Abs Err", higher_is_better=False)
RELATIVE_ERROR = MetricKind("rel_err", "Rel Err", higher_is_better=False)
MEAN_ANGLE = MetricKind("mean", "Mean", higher_is_better=False)
MEDIAN_ANGLE = MetricKind("median", "Median", higher_is_better=False)
WITHIN_11_25 = MetricKind("within_11.25", "11.25°", higher_is_better=True, percent=True)
WITHIN_22_5 = MetricKind("within_22.5", "22.5°", higher_is_better=True, percent=True)
WITHIN_30 = MetricKind("within_30", "30°", higher_is_better=True, percent=True)
ACCURACY = MetricKind("acc", "Acc", higher_is_better=True, percent=True)

SEGMENTATION = TaskKind("segmentation", "Segmentation", (MIOU, PIXEL_ACCURACY))
DEPTH = TaskKind("depth", "Depth", (ABSOLUTE_ERROR, RELATIVE_ERROR))
NORMAL = TaskKind(
    "normal",
    "Surface normal",
    (MEAN_ANGLE, MEDIAN_ANGLE, WITHIN_11_25, WITHIN_22_5, WITHIN_30),
)
CLASSIFICATION = TaskKind("classification", None, (ACCURACY,))

TASK_KINDS: dict[str, TaskKind] = {
    kind.key: kind for kind in (SEGMENTATION, DEPTH, NORMAL, CLASSIFICATION)
}
METRIC_KINDS: dict[str, MetricKind] = {
    metric.suffix: metric for kind in TASK_KINDS.values() for metric in kind.metric_kinds
}


def split_metric_name(name: str) -> tuple[str, str]:
    """``(task, suffix)`` of a stable metric name: ``normal.within_11.25`` → ``normal``,
    ``within_11.25`` (task names hold no dot; suffixes may)."""
    task, dot, suffix = name.partition(".")
    if not dot or not task or not suffix:
        raise ValueError(f"metric name {name!r} is not of the form <task>.<metric>")
    return task, suffix


def metric_kind(name: str, higher_is_better: bool | None = None) -> MetricKind:
    """The kind of the stored metric ``name``; a metric of no known kind (a task defined
    elsewhere) is titled by its suffix, with the stored direction, printed as it is."""
    _, suffix = split_metric_name(name)
    known = METRIC_KINDS.get(suffix)
    if known is not None:
        return known
    if higher_is_better is None:
        raise ValueError(
            f"metric {name!r} is of no known kind ({', '.join(METRIC_KINDS)}); "
            "its direction must be given"
        )
    return MetricKind(suffix, suffix, higher_is_better)


def task_title(task: str, metric_names: list[str]) -> str:
    """The title of ``task``'s column group: its kind's title when its metrics are exactly one
    known kind's (``seg`` → Segmentation), else the task's own name."""
    suffixes = [split_metric_name(name)[1] for name in metric_names]
    for kind in TASK_KINDS.values():
        if [metric.suffix for metric in kind.metric_kinds] == suffixes:
            return kind.title_of(task)
    return task


def in_table_order(described: dict[str, dict]) -> dict[str, dict]:
    """Stored task descriptions (``{task: {"primary": …, "metrics": {name: higher}}}``) with
    each task's metrics in its kind's order (Mean, Median, 11.25°, 22.5°, 30°). PostgreSQL's
    JSONB keeps no key order — it sorts keys by length — so the order papers print is restored
    from the kinds; the metrics of a task of no known kind keep the order they come in."""
    ordered = {}
    for task, description in described.items():
        metrics = description.get("metrics") if isinstance(description, dict) else None
        if isinstance(metrics, dict):
            suffixes = {name.partition(".")[2]: name for name in metrics}
            for kind in TASK_KINDS.values():
                order = [metric.suffix for metric in kind.metric_kinds]
                if sorted(order) == sorted(suffixes):
                    metrics = {suffixes[suffix]: metrics[suffixes[suffix]] for suffix in order}
                    break
            description = {**description, "metrics": metrics}
        ordered[task] = description
    return ordered
