"""Slurm options from the experiment file and the flags, without a cluster: time and memory
formats, extra #SBATCH lines, arrays chunked below MaxArraySize with the cap shared out."""

from __future__ import annotations

import pytest

from mtlx.dispatch.executors.slurm import chunks, parse_memory, parse_time, slurm_options
from mtlx.spec import SpecError


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), (90, 90), ("1:30:00", 90), ("1:30:01", 91), ("2-00:00:00", 2880), ("1-12", 2160),
     ("45:30", 46)],
)  # fmt: skip
def test_slurm_times_become_minutes(text, minutes: int) -> None:
    assert parse_time(text) == minutes


@pytest.mark.parametrize("text", ["soon", "1:2:3:4", "0", "-5"])
def test_a_time_that_is_not_slurms_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="time"):
        parse_time(text)


@pytest.mark.parametrize(("text", "gb"), [("32G", 32.0), ("512M", 0.5), ("1T", 1024.0), (8, 8.0)])
def test_memory_becomes_gigabytes(text, gb: float) -> None:
    assert parse_memory(text) == gb


def test_flags_override_the_files_section_and_sbatch_lines_pass_through() -> None:
    section = {"partition": "gpu", "time": "12:00:00", "gpus": 1, "sbatch": ["--constraint=a100"]}
    options = slurm_options(section, time="30", mem="16G", qos=None, sbatch=["--exclusive"])
    assert (options.partition, options.time_minutes, options.gpus) == ("gpu", 30, 1)
    assert options.mem_gb == 16.0 and options.qos is None
    parameters = options.submitit_parameters("mtlx-nyuv2")
    assert parameters["slurm_additional_parameters"] == {"exclusive": True}
    assert parameters["slurm_partition"] == "gpu" and parameters["timeout_min"] == 30
    assert parameters["slurm_gpus_per_node"] == 1 and parameters["slurm_mem_gb"] == 16.0


def test_arrays_stay_below_max_array_size() -> None:
    plans = list(range(2500))
    groups = chunks(plans, 1001)  # type: ignore[arg-type]
    assert [len(g) for g in groups] == [1001, 1001, 498]
    assert [p for g in groups for p in g] == plans


def test_the_files_slurm_section_is_validated(spine) -> None:
    with pytest.raises(
        SpecError, match=r"unknown key slurm\.'gpu'; allowed: partition, time, gpus"
    ):
        spine.spec("slurm.gpu=1")
    with pytest.raises(SpecError, match=r"slurm\.sbatch must be a list of strings"):
        spine.spec("slurm.sbatch=--exclusive")
    spec = spine.spec("slurm.partition=gpu", "slurm.array_parallelism=8")
    assert spec.slurm == {"partition": "gpu", "array_parallelism": 8}
