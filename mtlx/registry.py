"""Name → component registries: a method, dataset, network or optimizer registers itself once.

A component registers itself where it is defined, with ``@METHODS.register("name")``. A registry
given a ``package`` is *lazy*: it learns its names and every component's hyper-parameters (the
keyword parameters of the class's ``__init__`` or of the builder function, with their defaults) by
reading the package's source files, without importing them, and imports a component's module only
when the component itself is asked for (:meth:`Registry.get`). Validating an experiment file or
planning a sweep therefore never imports torch; building a run does.

The source reading relies on two conventions that ``tests/spine/test_registry.py`` checks for every
registered component: the decorator is written ``@<SYMBOL>.register("<name>")`` with a literal
name, and hyper-parameter defaults are literals (numbers, strings, tuples, ``None``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from mtlx.errors import UserError

T = TypeVar("T")

REQUIRED = inspect.Parameter.empty
"""The default of a parameter that has none (a required hyper-parameter)."""


class UnknownNameError(UserError, KeyError):
    """A name that no component registered; the message lists the registered ones."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    """Where a lazily registered component is defined: its module and its class or function."""

    module: str
    attribute: str
    path: Path


class Registry(Generic[T]):
    """A mapping from canonical names to components of one kind (``"method"``, ``"dataset"``…).

    ``package`` and ``symbol``: the lazy form (see the module docstring); the registry reads the
    modules of ``package`` for decorators ``@<symbol>.register("name")``. ``skip``: how many
    leading positional parameters of a component are not hyper-parameters (a method's
    ``num_tasks``, an optimizer's ``param_groups, lr, weight_decay``).
    """

    def __init__(
        self, kind: str, package: str | None = None, symbol: str | None = None, skip: int = 0
    ) -> None:
        if (package is None) != (symbol is None):
            raise ValueError("a lazy registry needs both package and symbol")
        self.kind = kind
        self.package = package
        self.symbol = symbol
        self.skip = skip
        self._entries: dict[str, T] = {}
        self._discovered: dict[str, Entry] | None = None
        self._parameters: dict[str, dict[str, Any]] = {}

    # ---- registration ----------------------------------------------------------------------

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register ``component`` as ``name``; a class also gets ``name`` set on it."""

        def add(component: T) -> T:
            if name in self._entries and self._entries[name] is not component:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            if isinstance(component, type):
                component.name = name  # type: ignore[attr-defined]  # one spelling of the name
            self._entries[name] = component
            return component

        return add

    # ---- lookup ----------------------------------------------------------------------------

    def get(self, name: str) -> T:
        """The component registered as ``name``, importing its module if needed."""
        if name not in self._entries:
            entry = self._lazy_entries().get(name)
            if entry is None:
                raise UnknownNameError(
                    f"unknown {self.kind} {name!r}; registered: {', '.join(self.names())}"
                )
            importlib.import_module(entry.module)
            if name not in self._entries:
                raise RuntimeError(
                    f"{entry.path} declares {self.kind} {name!r} but did not register it on import"
                )
        return self._entries[name]

    def require(self, name: str) -> str:
        """``name`` if it is registered (nothing imported), else UnknownNameError."""
        if name not in self:
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; registered: {', '.join(self.names())}"
            )
        return name

    def names(self) -> list[str]:
        return sorted({*self._entries, *self._lazy_entries()})

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._lazy_entries()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def parameters(self, name: str) -> dict[str, Any]:
        """Hyper-parameters of ``name`` → default (``REQUIRED`` where there is none), in order.

        Read from the source for a lazy registry (no import), from the signature otherwise.
        """
        self.require(name)
        if name not in self._parameters:  # read once: a sweep resolves thousands of configs
            entries = self._lazy_entries()
            if name in entries:
                entry = entries[name]
                found = _SourceReader().parameters(entry.path, entry.attribute, self.skip)
            else:
                found = signature_parameters(self._entries[name], self.skip)
            self._parameters[name] = found
        return dict(self._parameters[name])

    # ---- discovery -------------------------------------------------------------------------

    def _lazy_entries(self) -> dict[str, Entry]:
        if self.package is None or self.symbol is None:
            return {}
        if self._discovered is None:
            self._discovered = _discover(self.package, self.symbol, self.kind)
        return self._discovered


def signature_parameters(component: Callable[..., Any], skip: int = 0) -> dict[str, Any]:
    """The keyword parameters of ``component`` after the first ``skip``, with their defaults."""
    parameters = list(inspect.signature(component).parameters.values())[skip:]
    return {
        p.name: p.default for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _package_folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"registry package {package!r} cannot be found")
    return Path(next(iter(spec.submodule_search_locations)))


def _discover(package: str, symbol: str, kind: str) -> dict[str, Entry]:
    """Every ``@<symbol>.register("name")`` in the modules of ``package``, read from source."""
    folder = _package_folder(package)
    found: dict[str, Entry] = {}
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = package if path.stem == "__init__" else f"{package}.{path.stem}"
        for node in tree.body:
            if not isinstance(node, ast.ClassDef | ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                name = _registered_name(decorator, symbol)
                if name is None:
                    continue
                if name in found:
                    raise ValueError(
                        f"{kind} {name!r} is registered twice: {found[name].path} and {path}"
                    )
                found[name] = Entry(module, node.name, path)
    return found


def _registered_name(decorator: ast.expr, symbol: str) -> str | None:
    """``"name"`` for a decorator ``@<symbol>.register("name")``, else None."""
    if not (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "register"
        and isinstance(decorator.func.value, ast.Name)
        and decorator.func.value.id == symbol
    ):
        return None
    if len(decorator.args) != 1 or not isinstance(decorator.args[0], ast.Constant):
        raise ValueError(f"@{symbol}.register needs one literal name, at line {decorator.lineno}")
    return str(decorator.args[0].value)


class _SourceReader:
    """Reads a class's ``__init__`` or a function's parameters from source, following a class's
    first base through ``from … import`` lines until a class that defines ``__init__``."""

    def __init__(self) -> None:
        self._trees: dict[Path, ast.Module] = {}

    def parameters(self, path: Path, attribute: str, skip: int) -> dict[str, Any]:
        node = self._definition(path, attribute)
        if isinstance(node, ast.FunctionDef):
            return _arguments(node.args, skip, f"{path}: {attribute}")
        return self._class_parameters(path, node, skip)

    def _class_parameters(self, path: Path, node: ast.ClassDef, skip: int) -> dict[str, Any]:
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                return _arguments(item.args, skip + 1, f"{path}: {node.name}.__init__")  # self
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id not in ("object", "ABC"):
                where = self._import_of(path, base.id)
                if where is None:
                    continue
                base_path, base_node = where
                return self._class_parameters(base_path, base_node, skip)
        return {}

    def _import_of(self, path: Path, name: str) -> tuple[Path, ast.ClassDef] | None:
        """The class ``name`` as defined in ``path`` or imported there from an mtlx module."""
        tree = self._tree(path)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return path, node
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if (alias.asname or alias.name) != name or not node.module.startswith("mtlx"):
                        continue
                    spec = importlib.util.find_spec(node.module)
                    if spec is None or spec.origin is None:
                        return None
                    return self._import_of(Path(spec.origin), alias.name)
        return None

    def _definition(self, path: Path, attribute: str) -> ast.ClassDef | ast.FunctionDef:
        for node in self._tree(path).body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == attribute:
                return node
        raise RuntimeError(f"{path} defines no {attribute}")

    def _tree(self, path: Path) -> ast.Module:
        if path not in self._trees:
            self._trees[path] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        return self._trees[path]


def _arguments(arguments: ast.arguments, skip: int, where: str) -> dict[str, Any]:
    """Keyword parameters after the first ``skip`` positional ones; defaults read as literals."""
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults += list(arguments.defaults)
    named = list(zip(positional, defaults, strict=True))[len(arguments.posonlyargs) :]
    named += list(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
    skipped = max(0, skip - len(arguments.posonlyargs))
    result: dict[str, Any] = {}
    for argument, default in named[skipped:]:
        if default is None:
            result[argument.arg] = REQUIRED
            continue
        try:
            result[argument.arg] = ast.literal_eval(default)
        except ValueError:
            raise ValueError(
                f"{where}: the default of {argument.arg!r} must be a literal (a number, string, "
                "tuple or None), so that it can be read without importing the module"
            ) from None
    return result
