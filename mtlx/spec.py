"""Experiment specifications: YAML files → validated spec → the grid of resolved run configs.

A run's identity is its resolved config (:class:`RunConfig`): dataset and its options, network,
tasks, method and its hyper-parameters, optimizer with learning rate and hyper-parameters, training
schedule, seed. ``run_key`` is a stable hash of exactly that — never of paths, devices or worker
counts — so re-running a sweep skips every run already finished.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mtlx.data import DATASETS
from mtlx.errors import UserError
from mtlx.hyperparameters import resolve_hyperparameters
from mtlx.methods import METHODS, method_hyperparameters
from mtlx.models import NETWORKS
from mtlx.optim import OPTIMIZERS, optimizer_hyperparameters

MAX_SEED = 2**32 - 1
"""Seeds are 0 … 2³² − 1: what NumPy's and torch's generators take."""

MAX_SEED_COUNT = 1000

STL_METHOD = "stl"
"""The method name recorded for single-task baseline runs (one head, plain loss)."""

TOP_LEVEL_KEYS = {
    "name": "a short name for the experiment",
    "description": "free text",
    "dataset": "{name, ...dataset options}",
    "tasks": "[task names of the dataset that are trained jointly]",
    "network": "{name, ...network options}",
    "training": "{epochs, batch_size, eval_batch_size, weight_decay, lr_decay}",
    "defaults": "{method, optimizer, lr, seed}",
    "methods": "{method: {hyper-parameter: value}}",
    "optimizers": "{optimizer: {hyper-parameter: value}}",
    "lr_grids": "{grid name: {optimizer: [learning rates]}}",
    "sweep": "{methods, optimizers, lrs, seeds}",
    "stl": "{optimizer, lrs, seeds}",
    "slurm": "{partition, time, gpus, cpus, mem, account, qos, array_parallelism, sbatch, setup}",
}
SLURM_KEYS = (
    "partition",
    "time",
    "gpus",
    "cpus",
    "mem",
    "account",
    "qos",
    "array_parallelism",
    "sbatch",
    "setup",
)
TRAINING_KEYS = (
    "epochs",
    "batch_size",
    "eval_batch_size",
    "weight_decay",
    "lr_decay",
    "checkpoint_every",
)
LR_DECAY_KEYS = ("every", "factor")


class SpecError(UserError, ValueError):
    """An experiment file or override that does not validate; names the file and the key."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's result; hashed into ``run_key``."""

    dataset: dict[str, Any]
    network: dict[str, Any]
    tasks: tuple[str, ...]
    method: dict[str, Any]
    optimizer: dict[str, Any]
    training: dict[str, Any]
    seed: int

    @property
    def kind(self) -> str:
        return "stl" if self.method["name"] == STL_METHOD else "mtl"

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "network": self.network,
            "tasks": list(self.tasks),
            "method": self.method,
            "optimizer": self.optimizer,
            "training": self.training,
            "seed": self.seed,
        }

    @property
    def run_key(self) -> str:
        return stable_hash(self.as_dict())

    @property
    def baseline_key(self) -> str:
        """What a single-task baseline must share with this run to be comparable."""
        return stable_hash(
            {"dataset": self.dataset, "network": self.network, "training": self.training}
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        return cls(
            dataset=dict(data["dataset"]),
            network=dict(data["network"]),
            tasks=tuple(data["tasks"]),
            method=dict(data["method"]),
            optimizer=dict(data["optimizer"]),
            training=dict(data["training"]),
            seed=int(data["seed"]),
        )


def stable_hash(value: Any) -> str:
    """SHA-256 of canonical JSON (sorted keys, no whitespace), first 16 hex digits."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class ExperimentSpec:
    """A validated experiment file. ``source`` is the file it came from, for error messages."""

    source: str
    name: str
    dataset: dict[str, Any]
    network: dict[str, Any]
    tasks: tuple[str, ...]
    training: dict[str, Any]
    defaults: dict[str, Any]
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    optimizer_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    lr_grids: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    sweep: dict[str, Any] = field(default_factory=dict)
    stl: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # how often runs write a checkpoint (epochs): how a run is executed, not what it computes,
    # so it is not part of any run's config or run_key
    checkpoint_every: int = 1
    # resources of a Slurm task (``--executor slurm``); not part of any run's identity either
    slurm: dict[str, Any] = field(default_factory=dict)

    # ---- expansion -------------------------------------------------------------------------

    def single_run_config(
        self,
        method: str | None = None,
        optimizer: str | None = None,
        lr: float | None = None,
        seed: int | None = None,
    ) -> RunConfig:
        """One run of every task; what is not given comes from the file's ``defaults``."""
        defaults = self.defaults
        return self.run_config(
            self.tasks,
            method or defaults["method"],
            optimizer or defaults["optimizer"],
            lr if lr is not None else defaults["lr"],
            seed if seed is not None else defaults["seed"],
        )

    def run_config(
        self,
        tasks: Sequence[str],
        method: str,
        optimizer: str,
        lr: float,
        seed: int,
    ) -> RunConfig:
        """The resolved config of one run: every default filled in, every name validated."""
        if method == STL_METHOD:
            method_config: dict[str, Any] = {"name": STL_METHOD}
        else:
            hyper = self._resolve(
                lambda: method_hyperparameters(method, self.method_options.get(method)),
                f"methods.{method}",
            )
            method_config = {"name": method, **hyper}
        optimizer_hyper = self._resolve(
            lambda: optimizer_hyperparameters(optimizer, self.optimizer_options.get(optimizer)),
            f"optimizers.{optimizer}",
        )
        lr = float(lr)
        if not lr > 0:
            raise SpecError(f"{self.source}: lr must be positive, but got {lr}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise SpecError(f"seed must be an integer between 0 and {MAX_SEED}, but got {seed!r}")
        return RunConfig(
            dataset=dict(self.dataset),
            network=dict(self.network),
            tasks=tuple(tasks),
            method=method_config,
            optimizer={"name": optimizer, "lr": lr, **_jsonable(optimizer_hyper)},
            training=dict(self.training),
            seed=int(seed),
        )

    def lrs_for(self, lrs: str | Sequence[float], optimizer: str) -> list[float]:
        """A named grid's learning rates for ``optimizer``, or an explicit list as given."""
        if isinstance(lrs, str):
            if lrs not in self.lr_grids:
                known = ", ".join(sorted(self.lr_grids)) or "none"
                raise SpecError(f"{self.source}: no learning-rate grid {lrs!r}; defined: {known}")
            grid = self.lr_grids[lrs]
            if optimizer not in grid:
                raise SpecError(
                    f"{self.source}: lr_grids.{lrs} has no entry for optimizer {optimizer!r}; "
                    f"it defines: {', '.join(sorted(grid))}"
                )
            return list(grid[optimizer])
        return [float(lr) for lr in lrs]

    def expand(
        self,
        tasks: Sequence[str],
        methods: Sequence[str],
        optimizers: Sequence[str],
        lrs: str | Sequence[float],
        seeds: Sequence[int],
    ) -> list[RunConfig]:
        """The full grid methods × optimizers × learning rates × seeds, in that nesting order."""
        return [
            self.run_config(tasks, method, optimizer, lr, seed)
            for method in methods
            for optimizer in optimizers
            for lr in self.lrs_for(lrs, optimizer)
            for seed in seeds
        ]

    def with_overrides(self, assignments: Iterable[str]) -> ExperimentSpec:
        """A copy with ``section.key=value`` assignments applied (values parsed as YAML)."""
        raw = self.to_raw()
        for assignment in assignments:
            path, separator, text = assignment.partition("=")
            if not separator or not path:
                raise SpecError(f"override {assignment!r} must look like section.key=value")
            keys = path.split(".")
            node = raw
            for key in keys[:-1]:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise SpecError(f"override {assignment!r}: {key!r} is not a section")
                node = child
            node[keys[-1]] = yaml.safe_load(text)
        return parse_spec(raw, f"{self.source} (with overrides)")

    def to_raw(self) -> dict[str, Any]:
        return json.loads(
            json.dumps(
                {
                    "name": self.name,
                    "description": self.description,
                    "dataset": self.dataset,
                    "tasks": list(self.tasks),
                    "network": self.network,
                    "training": {**self.training, "checkpoint_every": self.checkpoint_every},
                    "defaults": self.defaults,
                    "methods": self.method_options,
                    "optimizers": self.optimizer_options,
                    "lr_grids": self.lr_grids,
                    "sweep": self.sweep,
                    "stl": self.stl,
                    "slurm": self.slurm,
                }
            )
        )

    def check_components(self) -> None:
        """Build every method and optimizer the file configures once, so that a value a
        constructor refuses (``momentum: 1.5``) is reported with the file and key before a sweep
        claims anything, not by each of its runs. Imports torch; planning does not call it."""
        import torch

        from mtlx.methods import build_method
        from mtlx.optim import build_optimizer

        for name, given in self.method_options.items():
            _validated(
                lambda n=name, g=given: build_method(n, len(self.tasks), **g),
                self.source,
                f"methods.{name}",
            )
        for name, given in self.optimizer_options.items():
            probe = {"params": [torch.zeros(1, requires_grad=True)]}
            _validated(
                lambda n=name, g=given, p=probe: build_optimizer(n, [p], 1.0, 0.0, **g),
                self.source,
                f"optimizers.{name}",
            )

    def _resolve(self, resolve: Any, where: str) -> dict[str, Any]:
        try:
            return resolve()
        except (ValueError, KeyError) as error:
            raise SpecError(f"{self.source}: {where}: {error}") from None


# ---- loading and validation ---------------------------------------------------------------


def find_experiment(name_or_path: str) -> Path:
    """``<name>.yaml`` under $MTLX_EXPERIMENTS or ./experiments, or a path as given."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml"):
        if candidate.is_file():
            return candidate
        raise SpecError(f"experiment file {candidate} does not exist")
    folders = [Path(os.environ["MTLX_EXPERIMENTS"])] if "MTLX_EXPERIMENTS" in os.environ else []
    folders.append(Path("experiments"))
    for folder in folders:
        for suffix in (".yaml", ".yml"):
            path = folder / f"{name_or_path}{suffix}"
            if path.is_file():
                return path
    looked = ", ".join(str(folder / f"{name_or_path}.yaml") for folder in folders)
    raise SpecError(f"no experiment named {name_or_path!r}: looked for {looked}")


def load_spec(name_or_path: str) -> ExperimentSpec:
    path = find_experiment(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: not valid YAML: {error}") from None
    return parse_spec(raw, str(path))


def parse_spec(raw: Any, source: str) -> ExperimentSpec:
    """Validate a parsed YAML document; every error names ``source`` and the offending key."""
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: expected a mapping at the top level, got {type(raw).__name__}")
    _check_keys(raw, TOP_LEVEL_KEYS, source, "")
    for required in ("dataset", "tasks", "network", "training"):
        if required not in raw:
            raise SpecError(f"{source}: missing required section {required!r}")

    dataset = _component(raw["dataset"], source, "dataset", DATASETS)
    network = _component(raw["network"], source, "network", NETWORKS)
    tasks = raw["tasks"]
    if (
        not isinstance(tasks, list)
        or not tasks
        or not all(isinstance(t, str) for t in tasks)
        or len(set(tasks)) != len(tasks)
    ):
        raise SpecError(
            f"{source}: tasks must be a non-empty list of distinct names, got {tasks!r}"
        )
    training = _training(raw["training"], source)
    checkpoint_every = _positive_int(
        raw["training"].get("checkpoint_every", 1), source, "training.checkpoint_every"
    )

    defaults = _mapping(raw.get("defaults", {}), source, "defaults")
    _check_keys(defaults, {"method": "", "optimizer": "", "lr": "", "seed": ""}, source, "defaults")
    defaults = {"method": "ew", "optimizer": "adam", "lr": 1e-3, "seed": 0, **defaults}
    _registered(defaults["method"], METHODS, source, "defaults.method", extra=(STL_METHOD,))
    _registered(defaults["optimizer"], OPTIMIZERS, source, "defaults.optimizer")
    defaults["lr"] = _positive_float(defaults["lr"], source, "defaults.lr")
    defaults["seed"] = _nonnegative_int(defaults["seed"], source, "defaults.seed")
    if defaults["seed"] > MAX_SEED:
        raise SpecError(
            f"{source}: defaults.seed must be at most {MAX_SEED}, got {defaults['seed']}"
        )

    method_options = _options(raw.get("methods", {}), source, "methods", METHODS)
    optimizer_options = _options(raw.get("optimizers", {}), source, "optimizers", OPTIMIZERS)
    # Names and types of the hyper-parameters now (read from source, no import); the values a
    # constructor refuses are checked by ``check_components`` before anything trains.
    for name, given in method_options.items():
        _validated(lambda n=name, g=given: method_hyperparameters(n, g), source, f"methods.{name}")
    for name, given in optimizer_options.items():
        _validated(
            lambda n=name, g=given: optimizer_hyperparameters(n, g), source, f"optimizers.{name}"
        )
    lr_grids: dict[str, dict[str, list[float]]] = {}
    for grid_name, grid in _mapping(raw.get("lr_grids", {}), source, "lr_grids").items():
        where = f"lr_grids.{grid_name}"
        lr_grids[grid_name] = {}
        for optimizer, values in _mapping(grid, source, where).items():
            _registered(optimizer, OPTIMIZERS, source, f"{where}.{optimizer}")
            if not isinstance(values, list) or not values:
                raise SpecError(f"{source}: {where}.{optimizer} must be a non-empty list of lrs")
            lr_grids[grid_name][optimizer] = [
                _positive_float(v, source, f"{where}.{optimizer}") for v in values
            ]

    sweep = _sweep_section(raw.get("sweep", {}), source, "sweep", lr_grids)
    stl = _sweep_section(raw.get("stl", {}), source, "stl", lr_grids)
    name = raw.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise SpecError(f"{source}: name must be a string, got {name!r}")
    return ExperimentSpec(
        source=source,
        name=name,
        description=str(raw.get("description", "")),
        dataset=dataset,
        network=network,
        tasks=tuple(tasks),
        training=training,
        defaults=defaults,
        method_options=method_options,
        optimizer_options=optimizer_options,
        lr_grids=lr_grids,
        sweep=sweep,
        stl=stl,
        checkpoint_every=checkpoint_every,
        slurm=_slurm_section(raw.get("slurm", {}), source),
    )


def _check_keys(
    section: Mapping[str, Any], allowed: Mapping[str, str] | Sequence[str], source: str, where: str
) -> None:
    for key in section:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise SpecError(f"{source}: unknown key {prefix}{key!r}; allowed: {', '.join(allowed)}")


def _mapping(value: Any, source: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{source}: {where} must be a mapping, got {value!r}")
    return dict(value)


def _registered(
    name: Any, registry: Any, source: str, where: str, extra: Sequence[str] = ()
) -> None:
    if name in extra:
        return
    if not isinstance(name, str) or name not in registry:
        allowed = ", ".join([*registry.names(), *extra])
        raise SpecError(f"{source}: {where}: unknown {registry.kind} {name!r}; allowed: {allowed}")


def _validated(resolve: Any, source: str, where: str) -> Any:
    try:
        return resolve()
    except (ValueError, TypeError) as error:
        raise SpecError(f"{source}: {where}: {error}") from None


def _component(value: Any, source: str, where: str, registry: Any) -> dict[str, Any]:
    """``{name, ...options}`` with the options resolved against the builder's signature."""
    if isinstance(value, str):
        value = {"name": value}
    section = _mapping(value, source, where)
    if "name" not in section:
        raise SpecError(f"{source}: {where}.name is required; allowed: {', '.join(registry)}")
    name = section.pop("name")
    _registered(name, registry, source, f"{where}.name")
    options = _validated(
        lambda: resolve_hyperparameters(
            registry.parameters(name), section, f"{registry.kind} {name!r}"
        ),
        source,
        where,
    )
    return {"name": name, **_jsonable(options)}


def _training(value: Any, source: str) -> dict[str, Any]:
    section = _mapping(value, source, "training")
    _check_keys(section, TRAINING_KEYS, source, "training")
    if "epochs" not in section or "batch_size" not in section:
        raise SpecError(f"{source}: training.epochs and training.batch_size are required")
    training = {
        "epochs": _positive_int(section["epochs"], source, "training.epochs"),
        "batch_size": _positive_int(section["batch_size"], source, "training.batch_size"),
        "eval_batch_size": _positive_int(
            section.get("eval_batch_size", section["batch_size"]),
            source,
            "training.eval_batch_size",
        ),
        "weight_decay": _nonnegative_float(
            section.get("weight_decay", 0.0), source, "training.weight_decay"
        ),
        "lr_decay": None,
    }
    decay = section.get("lr_decay")
    if decay is not None:
        decay = _mapping(decay, source, "training.lr_decay")
        _check_keys(decay, LR_DECAY_KEYS, source, "training.lr_decay")
        factor = _positive_float(decay.get("factor", 0.5), source, "training.lr_decay.factor")
        if factor >= 1:
            raise SpecError(f"{source}: training.lr_decay.factor must be < 1, but got {factor}")
        training["lr_decay"] = {
            "every": _positive_int(decay.get("every"), source, "training.lr_decay.every"),
            "factor": factor,
        }
    return training


def _options(value: Any, source: str, where: str, registry: Any) -> dict[str, dict[str, Any]]:
    section = _mapping(value, source, where)
    options = {}
    for name, given in section.items():
        _registered(name, registry, source, f"{where}.{name}")
        options[name] = _mapping(given, source, f"{where}.{name}")
    return options


def _sweep_section(
    value: Any, source: str, where: str, lr_grids: Mapping[str, Any]
) -> dict[str, Any]:
    section = _mapping(value, source, where)
    _check_keys(section, ("methods", "optimizers", "lrs", "seeds", "optimizer"), source, where)
    methods = section.get("methods", [])
    if methods != "all":
        for name in [methods] if isinstance(methods, str) else methods:
            _registered(name, METHODS, source, f"{where}.methods", extra=("all",))
    optimizers = section.get("optimizers", [])
    for name in [optimizers] if isinstance(optimizers, str) else optimizers:
        _registered(name, OPTIMIZERS, source, f"{where}.optimizers")
    if "optimizer" in section:
        _registered(section["optimizer"], OPTIMIZERS, source, f"{where}.optimizer")
    lrs = section.get("lrs")
    if isinstance(lrs, str) and lrs not in lr_grids:
        known = ", ".join(sorted(lr_grids)) or "none"
        raise SpecError(f"{source}: {where}.lrs names no grid {lrs!r}; defined: {known}")
    return section


def _slurm_section(value: Any, source: str) -> dict[str, Any]:
    section = _mapping(value, source, "slurm")
    _check_keys(section, SLURM_KEYS, source, "slurm")
    for key in ("gpus", "cpus", "array_parallelism"):
        if key in section:
            section[key] = (
                _nonnegative_int(section[key], source, f"slurm.{key}")
                if key == "gpus"
                else _positive_int(section[key], source, f"slurm.{key}")
            )
    for key in ("sbatch", "setup"):
        if key in section and (
            not isinstance(section[key], list) or not all(isinstance(v, str) for v in section[key])
        ):
            raise SpecError(
                f"{source}: slurm.{key} must be a list of strings, got {section[key]!r}"
            )
    for key in ("partition", "account", "qos"):
        if key in section and not isinstance(section[key], str):
            raise SpecError(f"{source}: slurm.{key} must be a string, got {section[key]!r}")
    return section


def _positive_int(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{source}: {where} must be a positive integer, but got {value!r}")
    return value


def _nonnegative_int(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"{source}: {where} must be a non-negative integer, but got {value!r}")
    return value


def _number(value: Any, source: str, where: str) -> float:
    if isinstance(value, str):
        try:
            return float(value)  # YAML reads "1e-3" (no dot) as a string
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{source}: {where} must be a number, but got {value!r}")
    return float(value)


def _positive_float(value: Any, source: str, where: str) -> float:
    number = _number(value, source, where)
    if not number > 0:
        raise SpecError(f"{source}: {where} must be positive, but got {value!r}")
    return number


def _nonnegative_float(value: Any, source: str, where: str) -> float:
    number = _number(value, source, where)
    if not number >= 0:
        raise SpecError(f"{source}: {where} must be non-negative, but got {value!r}")
    return number


def _jsonable(options: Mapping[str, Any]) -> dict[str, Any]:
    """Tuples become lists so a config hashes the same from YAML, Python or the database."""
    return json.loads(json.dumps(dict(options)))


def sweep_grid(
    spec: ExperimentSpec,
    methods: str | None,
    optimizers: str | None,
    lrs: str | None,
    seeds: str | None,
) -> tuple[list[str], list[str], str | list[float], list[int]]:
    """Methods, optimizers, learning rates (a grid name or a list) and seeds of a sweep: the
    command-line values (comma-separated text) over the file's ``sweep`` section over defaults.

    A value given on the command line but empty (``--methods ""``) is refused, never replaced by
    the file's default.
    """
    section = spec.sweep
    chosen_methods = _names(methods, "--methods") or _as_list(section.get("methods", ["ew"]))
    if chosen_methods == ["all"]:
        chosen_methods = METHODS.names()
    for name in chosen_methods:
        METHODS.require(name)
    chosen_optimizers = _names(optimizers, "--optimizers") or _as_list(
        section.get("optimizers", ["adam"])
    )
    for name in chosen_optimizers:
        OPTIMIZERS.require(name)
    lr_choice = _learning_rates(spec, lrs, section.get("lrs", [spec.defaults["lr"]]))
    seed_choice = seeds if seeds is not None else _seed_text(section.get("seeds", 1))
    return chosen_methods, chosen_optimizers, lr_choice, parse_seeds(seed_choice)


def stl_grid(
    spec: ExperimentSpec, optimizer: str | None, lrs: str | None, seeds: str | None
) -> tuple[str, str | list[float], list[int]]:
    """Optimizer, learning rates and seeds of the single-task baselines: the command line over
    the file's ``stl`` section over Adam, the grid ``grid`` and 3 seeds."""
    section = spec.stl
    if optimizer is not None and not optimizer.strip():
        raise SpecError("--optimizer is empty; give an optimizer name")
    chosen = optimizer or section.get("optimizer", "adam")
    OPTIMIZERS.require(chosen)
    lr_choice = _learning_rates(spec, lrs, section.get("lrs", "grid"))
    seed_choice = seeds if seeds is not None else _seed_text(section.get("seeds", 3))
    return chosen, lr_choice, parse_seeds(seed_choice)


def _names(text: str | None, flag: str) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise SpecError(f"{flag} is empty; give at least one name (or leave the flag out)")
    return names


def _learning_rates(spec: ExperimentSpec, given: str | None, default: Any) -> str | list[float]:
    """A grid name of the file, or a list of numbers; ``given`` is the command line's text."""
    if given is None:
        return default if isinstance(default, str) else [float(lr) for lr in default]
    if given in spec.lr_grids:
        return given
    parts = [part.strip() for part in given.split(",") if part.strip()]
    known = ", ".join(sorted(spec.lr_grids)) or "none"
    if not parts:
        raise SpecError(f"--lrs is empty; give a grid of {spec.source} ({known}) or numbers")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise SpecError(
            f"--lrs {given!r}: neither a grid of {spec.source} ({known}) nor a list of numbers"
        ) from None
    for value in values:
        if not value > 0:
            raise SpecError(f"--lrs: learning rates must be positive, but got {value:g}")
    return values


def _seed_text(value: Any) -> str:
    return ",".join(str(s) for s in value) + "," if isinstance(value, list) else str(value)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def parse_seeds(text: str) -> list[int]:
    """``"3"`` → seeds 0, 1, 2;  ``"0,5,7"`` → those seeds."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise SpecError(f"seeds must be a count (3) or a list (0,5,7), got {text!r}") from None
    if not numbers or min(numbers) < 0:
        raise SpecError(f"seeds must be a count (3) or a list (0,5,7), got {text!r}")
    if max(numbers) > MAX_SEED and not (len(numbers) == 1 and "," not in text):
        raise SpecError(f"seeds must be between 0 and {MAX_SEED}, but got {max(numbers)}")
    if len(numbers) == 1 and "," not in text:
        if numbers[0] == 0:
            raise SpecError("a count of seeds must be at least 1, got 0 (for seed 0 alone: '0,')")
        if numbers[0] > MAX_SEED_COUNT:
            raise SpecError(
                f"a count of seeds must be at most {MAX_SEED_COUNT}, got {numbers[0]} "
                "(for one large seed alone: '12345,')"
            )
        return list(range(numbers[0]))
    return numbers
