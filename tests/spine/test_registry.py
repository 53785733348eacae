"""Lazy registries: names and hyper-parameters read from source match the imported components,
and validating or planning an experiment imports no torch."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from mtlx.data import DATASETS
from mtlx.methods import METHODS
from mtlx.models import NETWORKS
from mtlx.optim import OPTIMIZERS
from mtlx.registry import REQUIRED, Registry, signature_parameters

LAZY = {"method": METHODS, "dataset": DATASETS, "network": NETWORKS, "optimizer": OPTIMIZERS}


@pytest.mark.parametrize("kind", sorted(LAZY))
def test_source_reading_agrees_with_the_imported_components(kind: str) -> None:
    registry = LAZY[kind]
    names = registry.names()
    assert names, kind
    for name in names:
        from_source = registry.parameters(name)
        component = registry.get(name)
        from_signature = signature_parameters(component, registry.skip)
        assert from_source == from_signature, (kind, name)
    # every module of the package imported: nothing registered that the source reading missed
    assert set(registry._entries) == set(names)


def test_register_gives_a_class_its_name() -> None:
    for name in METHODS.names():
        assert METHODS.get(name).name == name


def test_a_default_that_is_not_a_literal_is_refused(tmp_path, monkeypatch) -> None:
    package = tmp_path / "lazy_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "things.py").write_text(
        "from mtlx.registry import Registry\n"
        "THINGS = Registry('thing', package='lazy_probe', symbol='THINGS')\n"
        "LIMIT = 3\n"
        "@THINGS.register('a')\n"
        "def a(x=LIMIT, y=2.0, z=(1, 2), w=None, v=-1e-3):\n    return x\n"
        "@THINGS.register('b')\n"
        "def b(required, *, flag=True):\n    return required\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    things: Registry = importlib.import_module("lazy_probe.things").THINGS
    assert things.names() == ["a", "b"]
    assert things.parameters("b") == {"required": REQUIRED, "flag": True}
    with pytest.raises(ValueError, match="the default of 'x' must be a literal"):
        things.parameters("a")


def test_validating_and_planning_import_no_torch(spine) -> None:
    code = (
        "import sys\n"
        "from mtlx.spec import load_spec, sweep_grid\n"
        f"spec = load_spec({str(spine.experiment_file)!r})\n"
        "grid = sweep_grid(spec, 'all', 'adam,sgd', 'grid', '3')\n"
        "configs = spec.expand(spec.tasks, *grid)\n"
        "assert len(configs) == len(grid[0]) * 2 * 10 * 3, len(configs)\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
