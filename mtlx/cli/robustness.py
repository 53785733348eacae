"""``mtlx robustness``: multi-task features under corruptions (the seed paper, appendix A6)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mtlx.cli.app import app
from mtlx.cli.options import (
    DataRootOption,
    DbOption,
    DeviceOption,
    LoaderWorkersOption,
    console,
    error_console,
    resolve_data_root,
    split_names,
    user_errors,
)


@app.command()
@user_errors
def robustness(
    run_key: Annotated[str, typer.Argument(help="A finished multi-task run (its run key).")],
    epochs: Annotated[
        int, typer.Option(help="Epochs of fine-tuning the heads on corrupted images.", min=0)
    ] = 5,
    lr: Annotated[float, typer.Option(help="Learning rate of the heads' fine-tuning.")] = 1e-3,
    optimizer: Annotated[str, typer.Option(help="Optimizer of the heads' fine-tuning.")] = "adam",
    batch_size: Annotated[
        int | None,
        typer.Option(help="Fine-tuning batch size (default: the run's).", show_default=False),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the corruptions, the data order and the heads' dropout.")
    ] = 0,
    corruptions: Annotated[
        str | None,
        typer.Option(
            help="Corruptions, comma-separated (default: all 15 of Hendrycks & Dietterich).",
            show_default=False,
        ),
    ] = None,
    severities: Annotated[
        str, typer.Option(help="Severities evaluated and drawn for fine-tuning, comma-separated.")
    ] = "1,2,3,4,5",
    device: DeviceOption = None,
    data_root: DataRootOption = None,
    loader_workers: LoaderWorkersOption = 0,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print [{"corruption", "family", "task", "metric", "relative_robustness", '
            '"mtl_drop", "stl_drop"}], each the mean over the severities.',
        ),
    ] = False,
    plot: Annotated[Path, typer.Option(help="Where to draw the figure (PNG).")] = Path(
        "robustness.png"
    ),
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Draw no figure.")] = False,
    db: DbOption = None,
) -> None:
    """Relative robustness of multi-task vs single-task features under corruptions.

    Takes the finished multi-task run RUN_KEY and, for each of its tasks, the single-task run its
    baseline came from (the same seed when there is one), each with the weights kept of its
    selected epoch. Freezes the backbones, fine-tunes the heads on corrupted training images (a
    random corruption and severity per sample, the same images for every network) and evaluates
    on the test split under every corruption at every severity. Per metric:
    drop = ±(M − M_corrupted)/M of each network (M: the metric as trained, on clean test data;
    sign so that a drop is a loss) and R = drop_STL − drop_MTL, positive where the multi-task
    features are more robust. The table shows each corruption's mean over the severities. The
    results go to the database (study "robustness").
    """
    from mtlx.data import build_dataset
    from mtlx.provenance import check_device, default_device, provenance
    from mtlx.store.database import open_database
    from mtlx.store.runs import RunStore, utcnow
    from mtlx.store.studies import StudyStore
    from mtlx.studies.robustness import (
        RobustnessPlan,
        by_corruption,
        networks_to_compare,
        plot_robustness,
        relative_robustness,
        render_table,
        run_robustness,
        study_numbers,
        summary_json,
    )

    plan = RobustnessPlan(
        run_key=run_key,
        epochs=epochs,
        lr=lr,
        optimizer=optimizer,
        batch_size=batch_size,
        seed=seed,
        corruptions=tuple(split_names(corruptions) or ()),
        severities=parse_severities(severities),
    )
    # the runs must be there (a missing database is refused); the study's results are written
    networks = networks_to_compare(RunStore(open_database(db, create=False)), run_key)
    studies = StudyStore(open_database(db))
    chosen_device = check_device(device or default_device())
    root = resolve_data_root(data_root)
    dataset = networks[0].config["dataset"]
    options = {k: v for k, v in dataset.items() if k != "name"}
    started = utcnow()
    with error_console.status("loading the data…") as status:
        data = build_dataset(dataset["name"], root, **options)
        run = run_robustness(
            plan,
            networks,
            data,
            chosen_device,
            loader_workers,
            progress=lambda message: status.update(message + "…"),
        )
    frame = relative_robustness(run.scores, run.directions, run.families)
    summary = by_corruption(frame)
    study_run = studies.record(
        "robustness",
        {**plan.as_dict(), "networks": [n.run_key for n in networks]},
        provenance(chosen_device),
        started,
        utcnow(),
        study_numbers(run, frame),
    )
    if not no_plot:
        plot_robustness(run, frame, plot)
    if json_output:
        sys.stdout.write(json.dumps(summary_json(summary), indent=1) + "\n")
    else:
        render_table(run, summary, console)
    where = "" if no_plot else f"; figure in {plot}"
    error_console.print(f"robustness: study run {study_run} stored{where}", highlight=False)


def parse_severities(text: str) -> tuple[int, ...]:
    names = split_names(text) or []
    try:
        return tuple(int(name) for name in names)
    except ValueError:
        raise ValueError(
            f"--severities takes numbers from 1 to 5 separated by commas, but got {text!r}"
        ) from None
