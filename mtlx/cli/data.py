"""Dataset commands: ``data check`` and ``data fixture``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mtlx.cli.app import data_app
from mtlx.cli.options import console, user_errors


@data_app.command("check")
@user_errors
def data_check(
    dataset: Annotated[str, typer.Argument(help="nyuv2, cityscapes or celeba.")],
    path: Annotated[Path, typer.Argument(help="The dataset folder.")],
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read every file's values, not only those of the first and last file of each "
            "folder (every file's header — shape, dtype, size — is always read).",
        ),
    ] = False,
) -> None:
    """Validate a dataset folder before training: files, shapes and value ranges."""
    from mtlx.data.check import check_dataset

    for line in check_dataset(dataset, path, full=full):
        console.print(line, highlight=False, markup=False)
    console.print(f"{path}: a valid {dataset} folder", highlight=False)


@data_app.command("fixture")
@user_errors
def data_fixture(
    dataset: Annotated[str, typer.Argument(help="nyuv2, cityscapes or celeba.")],
    out: Annotated[Path, typer.Option(help="Folder to write into.")],
    n: Annotated[int, typer.Option("--n", help="Samples per split (CelebA: in all).", min=1)] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic values.")] = 0,
    height: Annotated[
        int | None,
        typer.Option(
            help="Dense datasets: image height (default: the real one).", show_default=False
        ),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(
            help="Dense datasets: image width (default: the real one).", show_default=False
        ),
    ] = None,
) -> None:
    """Write a small synthetic dataset in exactly the real on-disk format (to try mtlx out)."""
    from mtlx.data.fixtures import write_fixture

    options = {k: v for k, v in (("height", height), ("width", width)) if v is not None}
    root = write_fixture(dataset, out, n, seed, **options)
    console.print(f"wrote a synthetic {dataset} dataset to {root}", highlight=False)
