"""Task kinds: the task classes take their metrics from them, and stored names find them."""

import pytest

from mtlx.tasks import (
    BinaryAttributeTask,
    ClassificationTask,
    DepthTask,
    NormalTask,
    SegmentationTask,
)
from mtlx.tasks.kinds import (
    CLASSIFICATION,
    DEPTH,
    NORMAL,
    SEGMENTATION,
    in_table_order,
    metric_kind,
    split_metric_name,
    task_title,
)


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        (SegmentationTask(13), SEGMENTATION),
        (DepthTask(), DEPTH),
        (NormalTask(), NORMAL),
        (ClassificationTask("left", 10), CLASSIFICATION),
        (BinaryAttributeTask("Smiling"), CLASSIFICATION),
    ],
)
def test_every_task_class_scores_with_its_kinds_metrics(task, kind) -> None:
    assert [(m.name, m.higher_is_better) for m in task.metrics] == [
        (k.name(task.name), k.higher_is_better) for k in kind.metric_kinds
    ]
    assert task.primary_metric == kind.metric_kinds[0].name(task.name)


def test_the_meters_name_what_the_kinds_declare() -> None:
    import torch

    normal = NormalTask()
    meter = normal.meter()
    target = torch.nn.functional.normalize(torch.randn(1, 3, 4, 4), dim=1)
    meter.update(target.clone(), target)
    assert sorted(meter.compute()) == sorted(m.name for m in normal.metrics)


def test_stored_names_find_their_kind_and_title() -> None:
    assert split_metric_name("normal.within_11.25") == ("normal", "within_11.25")
    assert metric_kind("normal.within_11.25").title == "11.25°"
    assert metric_kind("seg.miou").percent and not metric_kind("depth.abs_err").percent
    assert metric_kind("x.l1", higher_is_better=False).title == "l1"
    assert task_title("seg", ["seg.miou", "seg.pix_acc"]) == "Segmentation"
    assert task_title("normal", [m.name for m in NormalTask().metrics]) == "Surface normal"
    assert task_title("left", ["left.acc"]) == "left"
    with pytest.raises(ValueError, match="direction must be given"):
        metric_kind("x.l1")
    with pytest.raises(ValueError, match=r"<task>\.<metric>"):
        split_metric_name("miou")


def test_stored_descriptions_come_back_in_the_order_papers_print_them() -> None:
    """JSONB sorts keys by length: the normal metrics come back 30°, 22.5°, 11.25°; the kinds
    restore Mean, Median, 11.25°, 22.5°, 30°. A task of no known kind keeps its order."""
    jsonb_order = {
        "normal": {
            "primary": "normal.mean",
            "metrics": {
                "normal.mean": False,
                "normal.median": False,
                "normal.within_30": True,
                "normal.within_22.5": True,
                "normal.within_11.25": True,
            },
        },
        "custom": {"primary": "custom.b", "metrics": {"custom.b": True, "custom.a": False}},
    }
    ordered = in_table_order(jsonb_order)
    assert list(ordered["normal"]["metrics"]) == [
        "normal.mean",
        "normal.median",
        "normal.within_11.25",
        "normal.within_22.5",
        "normal.within_30",
    ]
    assert ordered["normal"]["metrics"]["normal.within_30"] is True
    assert ordered["normal"]["primary"] == "normal.mean"
    assert list(ordered["custom"]["metrics"]) == ["custom.b", "custom.a"]
