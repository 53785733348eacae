"""Benchmarks: ``bench methods``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mtlx.cli.app import bench_app
from mtlx.cli.options import (
    DeviceOption,
    JacobianOption,
    console,
    error_console,
    split_names,
    user_errors,
)


@bench_app.command("methods")
@user_errors
def bench_methods(
    settings: Annotated[
        str,
        typer.Option(
            help="Comma-separated settings: multilenet (T=2), segnet (T=3), resnet18 (T=40)."
        ),
    ] = "multilenet,segnet,resnet18",
    methods: Annotated[str, typer.Option(help="Comma-separated methods, or 'all'.")] = "all",
    device: DeviceOption = None,
    steps: Annotated[int, typer.Option(help="Timed steps per method (median).", min=1)] = 10,
    warmup: Annotated[int, typer.Option(help="Untimed steps first.", min=0)] = 3,
    dense_size: Annotated[
        str, typer.Option(help="SegNet input HxW (the paper's NYUv2 size is 288x384).")
    ] = "288x384",
    dense_batch: Annotated[int, typer.Option(help="SegNet batch size.", min=1)] = 8,
    celeba_batch: Annotated[int, typer.Option(help="ResNet-18 batch size.", min=1)] = 512,
    jacobian: JacobianOption = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    json_out: Annotated[
        Path | None,
        typer.Option(help="Also write the rows as JSON to this file.", show_default=False),
    ] = None,
) -> None:
    """Training-step time of every method relative to EW and to its bare per-task gradients."""
    import dataclasses
    import json

    from mtlx.engine.benchmark import bench_setting
    from mtlx.engine.benchmark import settings as bench_settings
    from mtlx.methods import METHODS
    from mtlx.provenance import check_device, default_device, device_description
    from mtlx.report import Column, ReportTable, render_terminal

    height, _, width = dense_size.partition("x")
    if not (height.isdigit() and width.isdigit()):
        raise ValueError(f"--dense-size must look like 288x384, got {dense_size!r}")
    available = bench_settings((int(height), int(width)), dense_batch, celeba_batch)
    chosen = split_names(settings) or []
    for name in chosen:
        if name not in available:
            raise ValueError(f"unknown setting {name!r}; available: {', '.join(available)}")
    method_names = METHODS.names() if methods == "all" else (split_names(methods) or [])
    for name in method_names:
        METHODS.get(name)
    device = check_device(device or default_device())
    rows = []
    for name in chosen:
        rows += bench_setting(available[name], method_names, device, steps, warmup, jacobian)
        if not as_json:
            error_console.print(f"{name}: done", highlight=False)
    document = json.dumps(
        {"device": device_description(device), "rows": [dataclasses.asdict(r) for r in rows]},
        indent=2,
    )
    if json_out is not None:
        json_out.write_text(document)
    if as_json:
        print(document)
        return
    table = ReportTable(
        title=f"training step, median of {steps} — {device_description(device)}",
        columns=[
            Column("setting", "setting"),
            Column("tasks", "T"),
            Column("name", "method"),
            Column("ms", "ms/step"),
            Column("vs_ew", "× EW"),
            Column("vs_floor", "× floor"),
            Column("host_syncs", "host syncs"),
        ],
        rows=[
            {
                "setting": r.setting,
                "tasks": r.tasks,
                "name": r.name,
                "ms": f"{1000 * r.seconds:.1f}",
                "vs_ew": f"{r.vs_ew:.2f}",
                "vs_floor": "" if r.vs_floor is None else f"{r.vs_floor:.2f}",
                "host_syncs": "" if r.host_syncs is None else r.host_syncs,
            }
            for r in rows
        ],
        notes=[
            "per-task-sum: a full step summing the per-task gradients (the floor; × floor = a "
            "method's solver and aggregation overhead); jacobian-<engine>: forward + Jacobian "
            "alone; libmtl-loop: the Jacobian computed as LibMTL does"
        ],
    )
    render_terminal(table, console)
