"""Experiment files: every error names the file, the key and what is allowed; overrides; seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mtlx.methods import METHODS
from mtlx.spec import SpecError, load_spec, parse_seeds, parse_spec, sweep_grid


@pytest.fixture
def raw(spine) -> dict[str, Any]:
    """The real experiment file as parsed YAML, to be broken one key at a time."""
    return yaml.safe_load(spine.experiment_file.read_text())


def write(folder: Path, document: dict[str, Any], name: str = "broken.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(document))
    return path


def load_error(path: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(str(path))
    return str(caught.value)


def test_the_shipped_experiment_file_validates(spine) -> None:
    spec = load_spec("multimnist")  # by name, through $MTLX_EXPERIMENTS
    assert spec.name == "multimnist"
    assert spec.tasks == ("left", "right")
    assert spec.dataset["name"] == "multimnist"
    assert spec.training["epochs"] == 20
    assert spec.training["lr_decay"] == {"every": 10, "factor": 0.5}
    assert spec.defaults == {"method": "ew", "optimizer": "adam", "lr": 1e-3, "seed": 0}
    # every optimizer the sweep names has a learning rate in the sweep's grid
    for optimizer in spec.sweep["optimizers"]:
        assert len(spec.lrs_for(spec.sweep["lrs"], optimizer)) == 10


def test_unknown_top_level_key_names_file_key_and_allowed_keys(raw, isolated) -> None:
    raw["trainig"] = raw.pop("training")
    path = write(isolated, raw)
    message = load_error(path)
    assert str(path) in message
    assert "'trainig'" in message
    assert "training" in message.split("allowed:")[1]
    assert "lr_grids" in message.split("allowed:")[1]


@pytest.mark.parametrize(
    ("section", "value", "where"),
    [
        ("defaults", {"method": "ew_typo"}, "defaults.method"),
        ("defaults", {"optimizer": "adamw_typo"}, "defaults.optimizer"),
        ("methods", {"ew_typo": {}}, "methods.ew_typo"),
        ("optimizers", {"adamw_typo": {}}, "optimizers.adamw_typo"),
        ("lr_grids", {"grid": {"adamw_typo": [0.1]}}, "lr_grids.grid.adamw_typo"),
    ],
)
def test_unknown_method_or_optimizer_lists_the_registered_ones(
    raw, isolated, section: str, value: dict, where: str
) -> None:
    raw[section] = value
    if section == "lr_grids":
        raw["sweep"]["lrs"] = raw["stl"]["lrs"] = [0.1]
    path = write(isolated, raw)
    message = load_error(path)
    assert str(path) in message
    assert where in message
    allowed = message.split("allowed:")[1]
    registered = ["ew", "uw"] if "method" in where else ["adam", "sgd"]
    assert all(name in allowed for name in registered)


@pytest.mark.parametrize(
    ("key", "value", "registered"),
    [("methods", ["ew", "ew_typo"], ["ew", "uw"]), ("optimizers", ["sgd_typo"], ["adam", "sgd"])],
)
def test_unknown_name_in_sweep_section_is_refused_with_file_and_key(
    raw, isolated, key: str, value: list[str], registered: list[str]
) -> None:
    raw["sweep"][key] = value
    path = write(isolated, raw)
    message = load_error(path)
    assert str(path) in message
    assert f"sweep.{key}" in message
    assert all(name in message for name in registered)


def test_unknown_optimizer_hyperparameter_lists_the_allowed_ones(raw, isolated) -> None:
    raw["optimizers"] = {"sgd": {"momentom": 0.9}}
    path = write(isolated, raw)
    message = load_error(path)
    assert str(path) in message
    assert "optimizers.sgd" in message
    assert "momentom" in message
    assert "momentum" in message.split("allowed:")[1]
    assert "nesterov" in message.split("allowed:")[1]


def test_unknown_method_hyperparameter_lists_the_allowed_ones(raw, isolated) -> None:
    raw["methods"] = {"uw": {"init_log_varience": 0.0}}
    message = load_error(write(isolated, raw))
    assert "methods.uw" in message
    assert "init_log_varience" in message
    assert "init_log_variance" in message.split("allowed:")[1]


@pytest.mark.parametrize("epochs", [0, -3, 1.5, "ten", True])
def test_epochs_must_be_a_positive_integer(raw, isolated, epochs: object) -> None:
    raw["training"]["epochs"] = epochs
    path = write(isolated, raw)
    message = load_error(path)
    assert str(path) in message
    assert "training.epochs must be a positive integer" in message
    assert repr(epochs) in message


@pytest.mark.parametrize("lr", ["fast", [0.1], None, -0.001, 0])
def test_default_lr_must_be_a_positive_number(raw, isolated, lr: object) -> None:
    raw["defaults"]["lr"] = lr
    path = write(isolated, raw)
    message = load_error(path)
    assert str(path) in message
    assert "defaults.lr must be" in message
    assert repr(lr) in message


def test_lr_in_a_grid_must_be_a_number(raw, isolated) -> None:
    raw["lr_grids"]["grid"]["sgd"][3] = "abc"
    message = load_error(write(isolated, raw))
    assert "lr_grids.grid.sgd must be a number" in message
    assert "'abc'" in message


def test_exponent_without_dot_is_read_as_a_number(raw, isolated) -> None:
    # YAML 1.1 reads 1e-3 (no dot) as a string; a learning rate written so must still work
    path = isolated / "exp.yaml"
    path.write_text(
        yaml.safe_dump(raw).replace("lr: 0.001", "lr: 1e-3").replace("lr: 1.0e-3", "lr: 1e-3")
    )
    assert yaml.safe_load(path.read_text())["defaults"]["lr"] == "1e-3"
    assert load_spec(str(path)).defaults["lr"] == 1e-3


def test_lr_grid_without_the_optimizer_names_grid_and_defined_optimizers(raw, isolated) -> None:
    del raw["lr_grids"]["demo"]["sgd"]
    path = write(isolated, raw)
    spec = load_spec(str(path))
    with pytest.raises(SpecError) as caught:
        spec.expand(spec.tasks, ["ew"], ["adam", "sgd"], "demo", [0])
    message = str(caught.value)
    assert str(path) in message
    assert "lr_grids.demo" in message
    assert "'sgd'" in message
    assert "adam" in message.split("defines:")[1]


def test_unknown_lr_grid_name_lists_the_defined_grids(raw, isolated) -> None:
    raw["sweep"]["lrs"] = "gird"
    message = load_error(write(isolated, raw))
    assert "sweep.lrs" in message
    assert "'gird'" in message
    assert "demo, grid" in message


def test_unknown_dataset_option_lists_the_dataset_options(raw, isolated) -> None:
    raw["dataset"]["train_pair"] = 100
    path = write(isolated, raw)
    message = load_error(path)
    assert str(path) in message
    assert "dataset" in message
    assert "train_pair" in message
    allowed = message.split("allowed:")[1]
    for option in ("train_pairs", "val_pairs", "test_pairs", "digit_split", "seed"):
        assert option in allowed


def test_unknown_dataset_lists_the_registered_datasets(raw, isolated) -> None:
    raw["dataset"]["name"] = "multimnsit"
    message = load_error(write(isolated, raw))
    assert "dataset.name" in message
    assert all(name in message for name in ("multimnist", "nyuv2", "cityscapes", "celeba"))


def test_unknown_network_option_lists_the_network_options(raw, isolated) -> None:
    raw["network"]["drop_out"] = 0.1
    message = load_error(write(isolated, raw))
    assert "network" in message
    assert "drop_out" in message
    assert "dropout" in message.split("allowed:")[1]


@pytest.mark.parametrize("missing", ["tasks", "dataset", "network", "training"])
def test_missing_required_section_is_named(raw, isolated, missing: str) -> None:
    del raw[missing]
    path = write(isolated, raw)
    message = load_error(path)
    assert str(path) in message
    assert f"missing required section {missing!r}" in message


@pytest.mark.parametrize("tasks", [[], "left", ["left", "left"], [1, 2]])
def test_tasks_must_be_a_list_of_distinct_names(raw, isolated, tasks: object) -> None:
    raw["tasks"] = tasks
    assert "tasks must be a non-empty list of distinct names" in load_error(write(isolated, raw))


def test_bad_yaml_syntax_names_the_file(isolated) -> None:
    path = isolated / "syntax.yaml"
    path.write_text("name: x\ndataset: {name: multimnist\ntasks: [left, right]\n")
    message = load_error(path)
    assert str(path) in message
    assert "not valid YAML" in message


def test_top_level_must_be_a_mapping(isolated) -> None:
    path = isolated / "list.yaml"
    path.write_text("- a\n- b\n")
    message = load_error(path)
    assert str(path) in message
    assert "mapping" in message


def test_missing_experiment_says_where_it_looked() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec("multimnits")
    message = str(caught.value)
    assert "'multimnits'" in message
    assert "multimnits.yaml" in message
    with pytest.raises(SpecError, match="does not exist"):
        load_spec("nowhere/exp.yaml")


def test_lr_decay_factor_must_be_below_one(raw, isolated) -> None:
    raw["training"]["lr_decay"] = {"every": 10, "factor": 2.0}
    assert "training.lr_decay.factor must be < 1" in load_error(write(isolated, raw))


# ---- overrides ------------------------------------------------------------------------------


def test_overrides_set_values_without_touching_the_original(spine) -> None:
    spec = load_spec(str(spine.experiment_file))
    changed = spec.with_overrides(
        ["training.epochs=3", "dataset.train_pairs=256", "methods.uw.init_log_variance=0.5"]
    )
    assert changed.training["epochs"] == 3
    assert changed.dataset["train_pairs"] == 256
    assert changed.method_options["uw"] == {"init_log_variance": 0.5}
    assert spec.training["epochs"] == 20
    assert spec.dataset["train_pairs"] == 20000
    # everything not overridden is carried over
    assert changed.lr_grids == spec.lr_grids
    assert changed.sweep == spec.sweep
    assert changed.defaults == spec.defaults


def test_overrides_are_validated_like_the_file(spine) -> None:
    spec = load_spec(str(spine.experiment_file))
    with pytest.raises(SpecError, match=r"unknown key training\.'epohs'.*allowed: epochs"):
        spec.with_overrides(["training.epohs=3"])
    with pytest.raises(SpecError, match="unknown key 'trainig'"):
        spec.with_overrides(["trainig.epochs=3"])
    with pytest.raises(SpecError, match=r"training\.epochs must be a positive integer"):
        spec.with_overrides(["training.epochs=0"])
    with pytest.raises(SpecError, match=r"must look like section\.key=value"):
        spec.with_overrides(["training.epochs"])
    with pytest.raises(SpecError, match="'epochs' is not a section"):
        spec.with_overrides(["training.epochs.x=1"])


# ---- seeds and learning rates from the command line ------------------------------------------


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("3", [0, 1, 2]), ("1", [0]), ("0,5", [0, 5]), (" 2, 7 ,9", [2, 7, 9]), ("4,", [4])],
)
def test_parse_seeds(text: str, seeds: list[int]) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "1,b", "-1", "0,-2", "1.5"])
def test_parse_seeds_refuses_what_is_neither_count_nor_list(text: str) -> None:
    with pytest.raises(SpecError, match=r"count \(3\) or a list \(0,5,7\)"):
        parse_seeds(text)


def test_a_count_of_zero_seeds_is_refused() -> None:
    with pytest.raises(SpecError):
        parse_seeds("0")


def test_seed_list_in_the_sweep_section(spine) -> None:
    spec = spine.spec("sweep.seeds=[0, 5]")
    *_, seeds = sweep_grid(spec, "ew", "adam", "0.001", None)
    assert seeds == [0, 5]


def test_sweep_grid_reads_the_file_then_the_flags(spine) -> None:
    spec = spine.spec()
    methods, optimizers, lrs, seeds = sweep_grid(spec, None, None, None, None)
    assert methods == METHODS.names()  # `all`: every registered method
    assert {"ew", "uw"} <= set(methods)
    assert optimizers == ["adam", "sgd"]
    assert lrs == "grid"
    assert seeds == [0, 1, 2]
    methods, optimizers, lrs, seeds = sweep_grid(spec, "uw", "sgd", "0.1,1e-2", "0,4")
    assert (methods, optimizers, lrs, seeds) == (["uw"], ["sgd"], [0.1, 0.01], [0, 4])
    assert sweep_grid(spec, None, None, "demo", None)[2] == "demo"


@pytest.mark.parametrize("lrs", ["gridd", "0.1,fast", "1e-3;1e-2"])
def test_lrs_that_is_neither_a_grid_nor_numbers(spine, lrs: str) -> None:
    spec = spine.spec()
    with pytest.raises(SpecError) as caught:
        sweep_grid(spec, "ew", "adam", lrs, "1")
    message = str(caught.value)
    assert repr(lrs) in message
    assert "neither a grid" in message
    assert "demo, grid" in message
    assert str(spine.experiment_file) in message


def test_parse_spec_names_the_source_it_is_given() -> None:
    with pytest.raises(SpecError, match=r"^<inline>: missing required section 'dataset'"):
        parse_spec({"tasks": ["left"]}, "<inline>")


def test_a_value_the_optimizer_refuses_is_reported_before_training(spine) -> None:
    spec = spine.spec("optimizers.sgd.momentum=1.5")  # planning reads no constructor
    with pytest.raises(SpecError) as caught:
        spec.check_components()
    message = str(caught.value)
    assert "optimizers.sgd" in message and "momentum" in message and "1.5" in message
