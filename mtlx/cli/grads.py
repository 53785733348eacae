"""``mtlx grads``: inter-task vs inter-sample gradient similarity (the seed paper, Section 4.2)."""

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
    EpochsOption,
    ExperimentArgument,
    JacobianOption,
    LoaderWorkersOption,
    SetOption,
    check_jacobian_mode,
    console,
    error_console,
    load_experiment,
    resolve_data_root,
    user_errors,
)


@app.command()
@user_errors
def grads(
    experiment: ExperimentArgument,
    method: Annotated[
        str | None,
        typer.Option(help="MTO method (default: the file's; the paper: EW).", show_default=False),
    ] = None,
    optimizer: Annotated[
        str | None, typer.Option(help="Optimizer (default: the file's).", show_default=False)
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Learning rate (default: the file's).", show_default=False)
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Training seed, also the probe's (default: the file's).", show_default=False
        ),
    ] = None,
    epochs: EpochsOption = None,
    overrides: SetOption = None,
    every: Annotated[int, typer.Option(help="Probe every k-th training step.", min=1)] = 5,
    samples: Annotated[
        int, typer.Option(help="Samples of the batch probed (drawn at random).", min=2)
    ] = 8,
    tasks: Annotated[
        int, typer.Option(help="Tasks probed, drawn at random when the run has more.", min=2)
    ] = 8,
    device: DeviceOption = None,
    data_root: DataRootOption = None,
    jacobian: JacobianOption = "auto",
    loader_workers: LoaderWorkersOption = 0,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print [{"epoch", "comparison", "measure", "mean", "std", "pairs"}] '
            "(comparison: inter_task | inter_sample; measure: cosine | magnitude | conflict).",
        ),
    ] = False,
    plot: Annotated[Path, typer.Option(help="Where to draw Figure 4 (PNG).")] = Path("grads.png"),
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Draw no figure.")] = False,
    db: DbOption = None,
) -> None:
    """Inter-task vs inter-sample gradient similarity while a run trains (Figure 4).

    Trains one run of EXPERIMENT (as `mtlx train` would, but not recorded as a run) and, every k
    steps, takes the gradients of the shared parameters for each of 8 random samples of the batch
    and each task (8 random tasks when there are more), batched with torch.func. Between the tasks
    of a sample (inter-task) and between the samples of a task (inter-sample): cosine similarity,
    gradient magnitude similarity 2‖gᵢ‖‖gⱼ‖/(‖gᵢ‖² + ‖gⱼ‖²) and the fraction of parameters whose
    gradients have opposite signs. Per epoch: their mean and standard deviation. The probe looks
    at the network in evaluation mode and draws from its own generator, so the run trains exactly
    as without it. The results go to the database (study "grads").
    """
    from mtlx.data import build_dataset
    from mtlx.provenance import check_device, default_device, provenance
    from mtlx.store.database import open_database
    from mtlx.store.runs import utcnow
    from mtlx.store.studies import StudyStore
    from mtlx.studies.grads import (
        GradsPlan,
        plot_similarities,
        render_table,
        run_grads,
        similarities_json,
        study_numbers,
    )

    check_jacobian_mode(jacobian)
    spec = load_experiment(experiment, epochs, overrides)
    config = spec.single_run_config(method, optimizer, lr, seed)
    spec.check_components()
    plan = GradsPlan(spec.name, config, every=every, samples=samples, tasks=tasks)
    chosen_device = check_device(device or default_device())
    store = StudyStore(open_database(db))  # refuses a database at an older schema up front
    root = resolve_data_root(data_root)
    options = {k: v for k, v in config.dataset.items() if k != "name"}
    started = utcnow()
    total = config.training["epochs"]
    with error_console.status("loading the data…") as status:
        data = build_dataset(config.dataset["name"], root, **options)
        status.update(f"training epoch 1 of {total} with the gradient probe…")

        def progress(result) -> None:
            if result.epoch < total:
                status.update(
                    f"training epoch {result.epoch + 1} of {total} with the gradient probe…"
                )

        run = run_grads(plan, data, chosen_device, jacobian, loader_workers, progress)
    study_run = store.record(
        "grads", plan.as_dict(), provenance(chosen_device), started, utcnow(), study_numbers(run)
    )
    if not no_plot:
        plot_similarities(run, plot)
    if json_output:
        sys.stdout.write(json.dumps(similarities_json(run.similarities), indent=1) + "\n")
    else:
        render_table(run, console)
    where = "" if no_plot else f"; Figure 4 in {plot}"
    error_console.print(f"grads: study run {study_run} stored{where}", highlight=False)
