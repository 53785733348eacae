"""Storing imported results: one transaction per file, nothing half-imported, nothing twice.

A result is identified by its source and its (kind, dataset, network, method, optimizer, lr,
seed); importing a file again adds nothing, and a row that contradicts an earlier import of the
same source — same identity, other values — rejects the whole file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Engine, select

from mtlx.errors import UserError
from mtlx.imports import ImportedRow, ImportFile
from mtlx.spec import stable_hash
from mtlx.store.database import session_factory, transaction, with_retry
from mtlx.store.runs import utcnow
from mtlx.store.schema import ImportedResult, ResultImport


class ImportConflictError(UserError, ValueError):
    """A row already imported from the same source with other values."""


@dataclass(frozen=True)
class ImportOutcome:
    added: int
    already_imported: int


def result_key(source: str, kind: str, row: ImportedRow) -> str:
    return stable_hash(
        {
            "source": source,
            "kind": kind,
            "dataset": row.dataset,
            "network": row.network,
            "method": row.method,
            "optimizer": row.optimizer,
            "lr": row.lr,
            "seed": row.seed,
        }
    )


def save_import(engine: Engine, file: ImportFile, source: str, baseline: bool) -> ImportOutcome:
    """Store every row of ``file`` as results of ``source`` (single-task baselines when
    ``baseline``), in one transaction; rows already stored with the same values are skipped."""
    kind = "stl" if baseline else "mtl"
    keys = {result_key(source, kind, row): row for row in file.rows}
    writes = session_factory(engine, writes=True)

    def write() -> ImportOutcome:
        with transaction(writes) as session:
            stored = {
                result.result_key: result
                for start in range(0, len(keys), 500)
                for result in session.scalars(
                    select(ImportedResult).where(
                        ImportedResult.result_key.in_(list(keys)[start : start + 500])
                    )
                )
            }
            for key, row in keys.items():
                if key in stored and not _same_values(stored[key].metrics, row.metrics):
                    raise ImportConflictError(
                        f"{file.path}, line {row.line}: {row.method} × {row.optimizer} "
                        f"(lr {row.lr}, seed {row.seed}) of {row.dataset} / {row.network} is "
                        f"already imported from source {source!r} with other values; import "
                        "it under another --source"
                    )
            new = [(key, row) for key, row in keys.items() if key not in stored]
            if new:
                origin = ResultImport(
                    source=source,
                    file_name=file.path.name,
                    file_sha256=file.sha256,
                    baseline=baseline,
                    rows=len(new),
                    created_at=utcnow(),
                )
                session.add(origin)
                session.flush()
                session.add_all(
                    ImportedResult(
                        import_id=origin.id,
                        result_key=key,
                        source=source,
                        kind=kind,
                        dataset=row.dataset,
                        network=row.network,
                        tasks=",".join(row.tasks),
                        method=row.method,
                        optimizer=row.optimizer,
                        lr=row.lr,
                        seed=row.seed,
                        metrics=dict(row.metrics),
                    )
                    for key, row in new
                )
            return ImportOutcome(added=len(new), already_imported=len(keys) - len(new))

    return with_retry(write)


def _same_values(stored: dict[str, float], new: dict[str, float]) -> bool:
    return stored.keys() == new.keys() and all(
        math.isclose(stored[name], new[name], rel_tol=1e-12, abs_tol=0.0) for name in new
    )
