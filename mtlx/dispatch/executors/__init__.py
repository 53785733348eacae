"""Executors: where planned runs are trained.

- ``local`` (:mod:`.local`): in this process, or a pool of worker processes over GPUs or CPU cores
  that lives until every run is done;
- ``slurm`` (:mod:`.slurm`): job arrays through submitit; submits and returns.

Every executor's workers run :func:`mtlx.dispatch.worker.execute`, which claims each run
atomically in the database: executors never touch training or the schema, and any number of them
(pools on several machines, Slurm jobs) may work on one sweep at once.
"""

from mtlx.registry import Registry

EXECUTORS: Registry[type] = Registry(
    "executor", package="mtlx.dispatch.executors", symbol="EXECUTORS"
)

__all__ = ["EXECUTORS"]
