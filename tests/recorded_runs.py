"""What the monitoring tests record on runs: a holder as a Slurm task on another node records it,
and the traceback of a failed run."""

from __future__ import annotations

from mtlx.store.entities import Holder

SLURM_WORKER = Holder(
    host="node-7",
    pid=4242,
    process_started=1,
    boot_id="another-boot",
    worker={"host": "node-7", "pid": 4242, "gpu": 1, "slot": 0, "executor": "slurm"},
    slurm_job_id="81234_5",
)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "mtlx/engine/trainer.py", line 10, in train_epoch\n'
    "    loss.backward()\n"
    "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
)
