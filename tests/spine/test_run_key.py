"""run_key: the hash of the resolved config — equal for equal configs, new for any change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mtlx.spec import STL_METHOD, RunConfig, load_spec


def default_config(spec) -> RunConfig:
    d = spec.defaults
    return spec.run_config(spec.tasks, d["method"], d["optimizer"], d["lr"], d["seed"])


def planned_keys(spine, *args: str) -> list[str]:
    """The run keys that ``mtlx sweep --dry-run`` prints."""
    result = spine.invoke("sweep", "multimnist", "--dry-run", *args)
    assert result.exit_code == 0, result.output
    keys = re.findall(r"^([0-9a-f]{16})  ", result.output, flags=re.MULTILINE)
    assert keys, result.output
    return keys


def test_run_key_is_sixteen_hex_digits(spine) -> None:
    config = default_config(spine.spec())
    assert re.fullmatch(r"[0-9a-f]{16}", config.run_key)
    assert re.fullmatch(r"[0-9a-f]{16}", config.baseline_key)


def test_same_config_same_key_across_loads_and_yaml_round_trips(spine, isolated: Path) -> None:
    first = default_config(load_spec("multimnist"))
    again = default_config(load_spec(str(spine.experiment_file)))
    assert first.run_key == again.run_key

    # The spec written back out as YAML and reloaded
    copy = isolated / "copy.yaml"
    copy.write_text(yaml.safe_dump(load_spec("multimnist").to_raw()))
    assert default_config(load_spec(str(copy))).run_key == first.run_key

    # The config stored as JSON in the database and read back
    assert RunConfig.from_dict(first.as_dict()).run_key == first.run_key

    # Defaults written out explicitly change nothing
    explicit = load_spec("multimnist").with_overrides(
        [
            "network.dropout=0.5",
            "dataset.digit_split=[0.7, 0.15, 0.15]",
            "optimizers.sgd.nesterov=false",
        ]
    )
    assert default_config(explicit).run_key == first.run_key
    sgd = load_spec("multimnist")
    assert (
        sgd.run_config(sgd.tasks, "ew", "sgd", 0.01, 0).run_key
        == explicit.run_config(explicit.tasks, "ew", "sgd", 0.01, 0).run_key
    )


@pytest.mark.parametrize("written", ["1e-3", "0.001", "1.0e-3", "1.0E-03", "0.0010"])
def test_lr_written_differently_gives_the_same_key(spine, written: str) -> None:
    reference = default_config(load_spec("multimnist")).run_key
    spec = load_spec("multimnist").with_overrides([f"defaults.lr={written}"])
    assert default_config(spec).run_key == reference
    assert spec.run_config(spec.tasks, "ew", "adam", written, 0).run_key == reference


def test_cli_overrides_that_restate_the_file_give_the_same_keys(spine) -> None:
    base = ["--methods", "ew,uw", "--optimizers", "adam,sgd", "--seeds", "0,1"]
    reference = planned_keys(spine, *base, "--lrs", "0.001,0.01")
    assert len(set(reference)) == 2 * 2 * 2 * 2
    assert planned_keys(spine, *base, "--lrs", "1e-3,1.0e-2") == reference
    assert planned_keys(spine, *base, "--lrs", "0.001,0.01", "--epochs", "20") == reference
    assert (
        planned_keys(
            spine,
            *base,
            "--lrs",
            "1.0e-3,0.01",
            "--set",
            "training.batch_size=256",
            "--set",
            "optimizers.sgd.momentum=0.9",
            "--set",
            "dataset.seed=0",
        )
        == reference
    )


def test_key_does_not_depend_on_device_database_or_data_root(spine, isolated: Path) -> None:
    base = ["--methods", "ew", "--optimizers", "adam", "--lrs", "0.001", "--seeds", "1"]
    reference = planned_keys(spine, *base)
    for where in (
        ["--device", "cpu", "--db", str(isolated / "a.sqlite"), "--data-root", "/data/a"],
        ["--device", "cuda:3", "--db", "sqlite:////elsewhere/b.sqlite", "--jacobian", "batched"],
        ["--loader-workers", "4"],
    ):
        assert planned_keys(spine, *base, *where) == reference
    # the hashed config holds no path, device or worker count at all
    config = default_config(load_spec("multimnist"))
    assert set(config.as_dict()) == {
        "dataset",
        "network",
        "tasks",
        "method",
        "optimizer",
        "training",
        "seed",
    }
    assert "root" not in config.dataset
    assert "device" not in str(config.as_dict())


# Each is one semantic change of the default run (ew, adam, lr 1e-3, seed 0, 20 epochs).
CHANGES = {
    "lr": ([], {"lr": 3e-3}),
    "seed": ([], {"seed": 1}),
    "method": ([], {"method": "uw"}),
    "optimizer": ([], {"optimizer": "sgd"}),
    "epochs": (["training.epochs=21"], {}),
    "batch size": (["training.batch_size=128"], {}),
    "weight decay": (["training.weight_decay=0.0001"], {}),
    "lr decay": (["training.lr_decay={every: 5, factor: 0.5}"], {}),
    "dataset seed": (["dataset.seed=1"], {}),
    "dataset size": (["dataset.train_pairs=19999"], {}),
    "network dropout": (["network.dropout=0.25"], {}),
    "tasks order": (["tasks=[right, left]"], {}),
    "tasks subset": (["tasks=[left]"], {}),
}


def changed_key(overrides: list[str], arguments: dict) -> str:
    spec = (
        load_spec("multimnist").with_overrides(overrides) if overrides else load_spec("multimnist")
    )
    chosen = {**spec.defaults, **arguments}
    return spec.run_config(
        spec.tasks, chosen["method"], chosen["optimizer"], chosen["lr"], chosen["seed"]
    ).run_key


def test_every_semantic_change_gives_a_new_key() -> None:
    reference = default_config(load_spec("multimnist")).run_key
    keys = {name: changed_key(*change) for name, change in CHANGES.items()}
    assert reference not in keys.values()
    assert len(set(keys.values())) == len(keys)  # and no two changes collide


def test_method_and_optimizer_hyperparameters_are_part_of_the_key() -> None:
    spec = load_spec("multimnist")
    uw = spec.run_config(spec.tasks, "uw", "adam", 1e-3, 0).run_key
    other_uw = spec.with_overrides(["methods.uw.init_log_variance=0.5"])
    assert other_uw.run_config(spec.tasks, "uw", "adam", 1e-3, 0).run_key != uw

    sgd = spec.run_config(spec.tasks, "ew", "sgd", 0.01, 0).run_key
    for override in ("optimizers.sgd.momentum=0.5", "optimizers.sgd.nesterov=true"):
        other = spec.with_overrides([override])
        assert other.run_config(spec.tasks, "ew", "sgd", 0.01, 0).run_key != sgd
    adam = spec.run_config(spec.tasks, "ew", "adam", 1e-3, 0).run_key
    other_adam = spec.with_overrides(["optimizers.adam.betas=[0.5, 0.999]"])
    assert other_adam.run_config(spec.tasks, "ew", "adam", 1e-3, 0).run_key != adam


@pytest.mark.parametrize(
    ("override", "method"),
    [
        ("methods.uw.init_log_variance=-0.5", "uw"),
        ("methods.uw.init_log_variance=-5e-1", "uw"),
        ("network.dropout=5e-1", "ew"),
        ("optimizers.sgd.momentum=9e-1", "ew"),
    ],
)
def test_hyperparameter_written_differently_gives_the_same_key(override: str, method: str) -> None:
    spec = load_spec("multimnist")
    optimizer = "sgd" if "sgd" in override else "adam"
    reference = spec.run_config(spec.tasks, method, optimizer, 0.01, 0).run_key
    restated = spec.with_overrides([override])
    assert restated.run_config(spec.tasks, method, optimizer, 0.01, 0).run_key == reference


def test_baseline_key_is_shared_by_stl_and_mtl_runs_of_one_setup() -> None:
    spec = load_spec("multimnist")
    mtl = spec.run_config(spec.tasks, "uw", "sgd", 0.1, 2)
    left = spec.run_config(["left"], STL_METHOD, "adam", 1e-3, 0)
    right = spec.run_config(["right"], STL_METHOD, "adam", 3e-4, 1)
    assert mtl.kind == "mtl" and left.kind == "stl"
    assert mtl.baseline_key == left.baseline_key == right.baseline_key
    assert len({mtl.run_key, left.run_key, right.run_key}) == 3

    longer = spec.with_overrides(["training.epochs=21"]).run_config(spec.tasks, "uw", "sgd", 0.1, 2)
    assert longer.baseline_key != mtl.baseline_key
    other_data = spec.with_overrides(["dataset.seed=3"]).run_config(
        ["left"], "stl", "adam", 1e-3, 0
    )
    assert other_data.baseline_key != left.baseline_key
