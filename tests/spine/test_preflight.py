"""Fail fast: a sweep that cannot run stops with one clear line before anything is claimed —
no database written, no run recorded FAILED and retried on every re-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlx.data.fixtures import write_fixture


def assert_refused(spine, isolated: Path, result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    line = " ".join(result.output.split())
    assert line.startswith("error: ") and "Traceback" not in line, result.output
    for text in expected:
        assert text in line, line
    assert not (isolated / "results.sqlite").exists()  # nothing recorded, not even a database


def nyuv2_sweep(spine, root: Path, *overrides: str) -> list[str]:
    sets = [flag for value in overrides for flag in ("--set", value)]
    return [
        "sweep",
        "nyuv2",
        "--methods",
        "ew",
        "--optimizers",
        "adam",
        "--lrs",
        "0.001",
        "--seeds",
        "1",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--data-root",
        str(root),
        "--set",
        "dataset.val_size=2",
        "--set",
        "training.batch_size=2",
        *sets,
    ]


def test_a_missing_data_folder(spine, isolated: Path) -> None:
    result = spine.invoke(*nyuv2_sweep(spine, isolated / "no-such-folder"))
    assert_refused(spine, isolated, result, "no-such-folder")


def test_a_network_that_cannot_take_the_datas_resolution(spine, isolated: Path) -> None:
    root = write_fixture("nyuv2", isolated / "data", 4, 0, height=40, width=64)
    result = spine.invoke(*nyuv2_sweep(spine, root, "network.name=segnet"))
    assert_refused(
        spine,
        isolated,
        result,
        "network 'segnet' cannot take",
        "(inputs 3×40×64)",
        "divisible by 32",
    )


def test_unknown_task_names(spine, isolated: Path) -> None:
    result = spine.invoke(
        "sweep",
        "multimnist",
        "--methods",
        "ew",
        "--lrs",
        "0.001",
        "--seeds",
        "1",
        *spine.flags(),
        "--set",
        "tasks=[left, middle]",
    )
    assert_refused(
        spine, isolated, result, "task(s) middle are not tasks of dataset", "left, right"
    )


@pytest.mark.parametrize("flag", ["--methods", "--lrs", "--optimizers"])
def test_an_empty_list_is_refused_not_replaced_by_the_files(spine, isolated: Path, flag) -> None:
    args = {"--methods": "ew", "--lrs": "0.001", "--optimizers": "adam"}
    args[flag] = ""
    flat = [item for pair in args.items() for item in pair]
    result = spine.invoke("sweep", "multimnist", *flat, "--seeds", "1", *spine.flags())
    assert_refused(spine, isolated, result, f"{flag} is empty")


def test_a_value_a_constructor_refuses(spine, isolated: Path) -> None:
    result = spine.invoke(
        "sweep",
        "multimnist",
        "--methods",
        "ew",
        "--optimizers",
        "sgd",
        "--lrs",
        "0.1",
        "--seeds",
        "1",
        *spine.flags(),
        "--set",
        "optimizers.sgd.momentum=1.5",
    )
    assert_refused(spine, isolated, result, "optimizers.sgd", "momentum", "1.5")
