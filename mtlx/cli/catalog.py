"""What is registered: ``methods`` and ``models``."""

from __future__ import annotations

import sys

from mtlx.cli.app import app
from mtlx.cli.options import console, user_errors


@app.command()
def methods() -> None:
    """List the registered MTO methods and their hyper-parameters with defaults."""
    from mtlx.methods import METHODS, method_hyperparameters

    for name in METHODS.names():
        cls = METHODS.get(name)
        hyper = method_hyperparameters(name)
        text = sys.modules[cls.__module__].__doc__ or cls.__doc__ or ""
        description = " ".join(text.strip().split("\n\n")[0].split())
        settings = ", ".join(f"{k}={v}" for k, v in hyper.items()) or "—"
        console.print(f"[bold]{name}[/]  {description}\n    {settings}", highlight=False)


@app.command()
@user_errors
def models() -> None:
    """Registered networks and their parameter counts on the paper's datasets."""
    from mtlx.data.check import CELEBA_ATTRIBUTES
    from mtlx.data.nyuv2 import NUM_CLASSES as NYUV2_CLASSES
    from mtlx.models import NETWORKS
    from mtlx.models.summary import parameter_counts
    from mtlx.report import Column, ReportTable, render_terminal
    from mtlx.tasks import (
        BinaryAttributeTask,
        ClassificationTask,
        DepthTask,
        NormalTask,
        SegmentationTask,
    )

    nyuv2 = [SegmentationTask(NYUV2_CLASSES), DepthTask(), NormalTask()]
    cityscapes = [SegmentationTask(7), DepthTask()]
    setups = [
        (
            "multilenet",
            "multimnist",
            [ClassificationTask("left", 10), ClassificationTask("right", 10)],
            (1, 28, 28),
        ),
        ("segnet", "nyuv2", nyuv2, (3, 288, 384)),
        ("segnet", "cityscapes", cityscapes, (3, 128, 256)),
        ("deeplabv3", "nyuv2", nyuv2, (3, 288, 384)),
        ("deeplabv3", "cityscapes", cityscapes, (3, 128, 256)),
        ("resnet18", "celeba", [BinaryAttributeTask(a) for a in CELEBA_ATTRIBUTES], (3, 64, 64)),
    ]
    rows = []
    for network, dataset, tasks, shape in setups:
        counts = parameter_counts(network, tasks, shape)
        single = parameter_counts(network, tasks[:1], shape)["total"]
        heads = counts["heads"]
        rows.append(
            {
                "network": network,
                "dataset": dataset,
                "tasks": len(tasks),
                "shared": f"{counts['shared']:,}",
                "heads": f"{sum(heads.values()):,}",
                "total": f"{counts['total']:,}",
                "single": f"{single:,}",
            }
        )
    missing = sorted(set(NETWORKS.names()) - {row["network"] for row in rows})
    render_terminal(
        ReportTable(
            title="parameter counts (multi-task; single-task = the first task's network alone)",
            columns=[
                Column(k, t)
                for k, t in (
                    ("network", "network"),
                    ("dataset", "dataset"),
                    ("tasks", "T"),
                    ("shared", "shared"),
                    ("heads", "all heads"),
                    ("total", "total"),
                    ("single", "single-task"),
                )
            ],
            rows=rows,
            notes=[f"also registered: {', '.join(missing)}"] if missing else [],
        ),
        console,
    )
