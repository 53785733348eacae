"""A single-node Slurm cluster on localhost, entirely in a temporary folder.

Debian's ``munged``, ``slurmctld`` and ``slurmd`` run in the foreground as children of the test
process (so each is stopped by its own pid and reaped — a zombie would still answer ``kill -0``):

- ``munged`` as user ``munge`` with a key of its own and a socket whose parent folders are all
  world-executable (munged refuses any other); ``AuthInfo=socket=…`` points every daemon and
  command at it, and ``cred_expire=10`` is also how long a requeued job is held.
- ``slurm.conf`` puts every state, spool, pid and log path in the folder, uses free ports, and
  describes this machine's node with ``CPUs=8`` at least (``SlurmdParameters=config_overrides``
  lets two cores run eight test jobs at once); ``CR_Core_Memory`` with ``DefMemPerCPU`` keeps one
  job from taking the node's memory; no accounting, so ``sacct`` does not work.
- The cluster is ready when ``sinfo`` shows the node idle **and** ``scontrol show config`` names
  this ``SLURM_CONF`` (a clashing port would otherwise answer from another cluster).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from servers.daemons import (
    ServerError,
    SystemUser,
    find_programs,
    free_port,
    log_tail,
    stop_process,
    wait_until,
)
from servers.requirement import ServerUnavailableError

PACKAGES = "slurmctld slurmd slurm-client munge"
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd")
COMMANDS = ("sbatch", "squeue", "scancel", "scontrol", "sinfo", "srun")
PARTITION = "test"
TEST_CPUS = 8  # at least this many CPUs on the node, whatever the machine has
CRED_EXPIRE_S = 10
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it
READY_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 45.0  # Slurm's KillWait (30 s) between SIGTERM and SIGKILL, and some margin

# Job states after which a job never runs again (a requeued job goes back to PENDING instead).
FINAL_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "TIMEOUT",
    }
)


@dataclass(frozen=True)
class SlurmJob:
    """One job (or one array task) as ``scontrol show job`` reports it."""

    job_id: str  # "12", or "12_3" for an array task
    state: str  # JobState: PENDING, RUNNING, COMPLETED, …
    restarts: int
    exit_code: str  # "status:signal"
    fields: Mapping[str, str] = field(repr=False)

    @classmethod
    def parse(cls, line: str) -> SlurmJob:
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        array_job, task = fields.get("ArrayJobId"), fields.get("ArrayTaskId")
        job_id = f"{array_job}_{task}" if array_job and task else fields["JobId"]
        return cls(
            job_id=job_id,
            state=fields["JobState"],
            restarts=int(fields.get("Restarts", "0")),
            exit_code=fields.get("ExitCode", ""),
            fields=fields,
        )


@dataclass(frozen=True)
class NodeShape:
    """The node's line of ``slurm.conf``: this machine's shape, with at least ``TEST_CPUS``."""

    boards: int
    sockets_per_board: int
    cores_per_socket: int
    threads_per_core: int
    real_memory_mb: int

    @classmethod
    def of_this_machine(cls, slurmd: Path) -> NodeShape:
        reported = subprocess.run(
            [str(slurmd), "-C"], capture_output=True, text=True, check=True
        ).stdout
        fields = dict(re.findall(r"(\w+)=(\S+)", reported.splitlines()[0]))
        shape = cls(
            boards=int(fields["Boards"]),
            sockets_per_board=int(fields["SocketsPerBoard"]),
            cores_per_socket=int(fields["CoresPerSocket"]),
            threads_per_core=int(fields["ThreadsPerCore"]),
            real_memory_mb=int(fields["RealMemory"]),
        )
        if shape.cpus >= TEST_CPUS:
            return shape
        # Slurm resets CPUs that do not match sockets × cores × threads, so oversubscribe by
        # declaring more single-thread cores on one socket.
        return cls(1, 1, TEST_CPUS, 1, shape.real_memory_mb)

    @property
    def cpus(self) -> int:
        return self.boards * self.sockets_per_board * self.cores_per_socket * self.threads_per_core

    def node_line(self, node: str) -> str:
        return (
            f"NodeName={node} NodeHostname={node} NodeAddr=127.0.0.1 CPUs={self.cpus} "
            f"Boards={self.boards} SocketsPerBoard={self.sockets_per_board} "
            f"CoresPerSocket={self.cores_per_socket} ThreadsPerCore={self.threads_per_core} "
            f"RealMemory={self.real_memory_mb} State=UNKNOWN"
        )


@dataclass
class SlurmCluster:
    """A running cluster: its ``SLURM_CONF``, an environment to run commands, job helpers."""

    folder: Path
    conf: Path
    node: str
    commands: Mapping[str, Path]
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    @property
    def partition(self) -> str:
        return PARTITION

    def environment(self) -> dict[str, str]:
        """The current environment with this ``SLURM_CONF`` and the Slurm commands on PATH.

        Jobs inherit it from ``sbatch``; a job that runs ``scontrol`` (a requeue) needs it too.
        """
        path = os.environ.get("PATH", "")
        command_dir = str(self.commands["sbatch"].parent)
        if command_dir not in path.split(os.pathsep):
            path = os.pathsep.join([path, command_dir]) if path else command_dir
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    def run(
        self, command: str, *arguments: str, check: bool = True, timeout: float = 30.0
    ) -> subprocess.CompletedProcess:
        """Run ``sbatch``, ``squeue``, ``scancel``, ``scontrol`` … against this cluster."""
        result = subprocess.run(
            [str(self.commands[command]), *arguments],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise ServerError(
                f"{command} {' '.join(arguments)} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n{self.log_tails()}"
            )
        return result

    def submit(self, *sbatch_arguments: str) -> str:
        """``sbatch --parsable …``; returns the job id."""
        return self.run("sbatch", "--parsable", *sbatch_arguments).stdout.strip().split(";")[0]

    def jobs(self, job_id: str) -> list[SlurmJob]:
        """The job, or every task of an array job (tasks not yet started share one record)."""
        shown = self.run("scontrol", "--oneliner", "show", "job", job_id)
        return [SlurmJob.parse(line) for line in shown.stdout.splitlines() if line.strip()]

    def wait_for(self, job_id: str, states: Iterable[str], timeout: float = 60.0) -> list[SlurmJob]:
        """Wait until the job (every array task) is in one of ``states``; returns its records.

        Fails at once when a record reaches a final state that was not asked for, and after
        ``timeout`` seconds with the records and the daemons' logs.
        """
        wanted = frozenset(states)
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.jobs(job_id)
            if jobs and all(job.state in wanted for job in jobs):
                return jobs
            unexpected = [job for job in jobs if job.state in FINAL_STATES - wanted]
            if unexpected or time.monotonic() >= deadline:
                reason = "it ended otherwise" if unexpected else f"waited {timeout:.0f} s"
                raise ServerError(
                    f"job {job_id} never reached {'|'.join(sorted(wanted))} ({reason}): "
                    + ", ".join(f"{job.job_id} {job.state}" for job in jobs)
                    + f"\n{self.log_tails()}"
                )
            time.sleep(0.2)

    def queued_job_ids(self) -> list[str]:
        """Every job still pending, running or completing."""
        return self.run("squeue", "--noheader", "--format=%A").stdout.split()

    def cancel_all(self) -> None:
        """``scancel`` every queued job without waiting for them to end."""
        job_ids = self.queued_job_ids()
        if job_ids:
            self.run("scancel", *job_ids, check=False)

    def log_tails(self, lines: int = 15) -> str:
        """The end of each daemon's log, and of its stderr once it has exited (early errors)."""
        logs = [self.folder / "log" / "slurmctld.log", self.folder / "log" / "slurmd.log"]
        logs += [
            self.folder / "log" / f"{name}.stderr"
            for name in ("slurmctld", "slurmd")
            if name in self.daemons and not self._alive(name)
        ]
        logs.append(self.folder / "munge" / "munged.log")
        return "\n".join(f"{log}:\n{log_tail(log, lines)}" for log in logs)

    def stop(self) -> None:
        """Cancel and drain every job, stop slurmctld, then slurmd, then munged; remove the folder.

        Draining first lets slurmd reap its job steps, so no job process outlives the cluster.
        """
        drained = True
        if self._alive("slurmctld") and self._alive("slurmd"):
            self.cancel_all()
            drained = wait_until(lambda: not self.queued_job_ids(), DRAIN_TIMEOUT_S, 0.25)
        for name in ("slurmctld", "slurmd", "munged"):
            if name in self.daemons:
                stop_process(self.daemons[name])
        if not drained:
            raise ServerError(
                f"jobs of the test cluster did not end within {DRAIN_TIMEOUT_S:.0f} s "
                f"(its folder {self.folder} is left for inspection)"
            )
        shutil.rmtree(self.folder)

    def _alive(self, daemon: str) -> bool:
        return daemon in self.daemons and self.daemons[daemon].poll() is None


def slurm_programs() -> dict[str, Path]:
    if os.geteuid() != 0:
        raise ServerUnavailableError(
            "a Slurm test cluster needs root (slurmd runs jobs as their user)"
        )
    return find_programs([*DAEMONS, *COMMANDS], PACKAGES)


def start_slurm_cluster() -> SlurmCluster:
    """Start munged, slurmctld and slurmd in a new temporary folder; wait until jobs can run.

    Raises :class:`ServerUnavailableError` when this machine cannot run Slurm and
    :class:`ServerError` (with the daemons' logs) when the cluster does not come up.
    """
    programs = slurm_programs()
    munge = SystemUser.named("munge", "munge")
    shape = NodeShape.of_this_machine(programs["slurmd"])
    node = socket.gethostname().split(".")[0]  # slurmctld knows itself by its short host name
    folder = Path(tempfile.mkdtemp(prefix="mtlx-slurm-"))
    folder.chmod(0o755)  # munged refuses a socket below a folder others cannot traverse
    cluster = SlurmCluster(folder, folder / "slurm.conf", node, programs)
    try:
        cluster.daemons["munged"] = _start_munged(folder / "munge", munge, programs)
        for attempt in range(1, START_ATTEMPTS + 1):
            _write_configuration(cluster, shape)
            cluster.daemons["slurmctld"] = _start_daemon(
                cluster, "slurmctld", "-D", "-f", str(cluster.conf)
            )
            cluster.daemons["slurmd"] = _start_daemon(
                cluster, "slurmd", "-D", "-f", str(cluster.conf), "-N", node
            )
            if _wait_until_ready(cluster):
                return cluster
            port_taken = any(
                "Address already in use" in (folder / "log" / f"{name}.log").read_text()
                for name in ("slurmctld", "slurmd")
                if (folder / "log" / f"{name}.log").is_file()
            )
            if not port_taken or attempt == START_ATTEMPTS:
                raise ServerError(
                    f"the Slurm test cluster did not come up (attempt {attempt} of "
                    f"{START_ATTEMPTS}, waited up to {READY_TIMEOUT_S:.0f} s; "
                    f"{_daemon_status(cluster)}). The logs of {folder}:\n{cluster.log_tails()}"
                )
            for name in ("slurmctld", "slurmd"):
                stop_process(cluster.daemons.pop(name))
    except BaseException:
        for name in ("slurmctld", "slurmd", "munged"):
            if name in cluster.daemons:
                stop_process(cluster.daemons[name])
        shutil.rmtree(folder, ignore_errors=True)
        raise
    raise AssertionError("unreachable")


def _start_munged(
    folder: Path, munge: SystemUser, programs: Mapping[str, Path]
) -> subprocess.Popen:
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)  # not the umask's: munged wants its socket's folder traversable by all
    munge.owns(folder)
    key = folder / "munge.key"
    subprocess.run(
        [str(programs["mungekey"]), "--create", f"--keyfile={key}"],
        check=True,
        capture_output=True,
        **munge.process_credentials(),  # type: ignore[arg-type]
    )
    socket_path = folder / "munge.socket"
    with (folder / "munged.log").open("w") as log:  # in the foreground munged logs to stderr
        munged = subprocess.Popen(
            [
                str(programs["munged"]),
                "--foreground",
                f"--socket={socket_path}",
                f"--key-file={key}",
                f"--pid-file={folder / 'munged.pid'}",
                f"--seed-file={folder / 'munged.seed'}",
            ],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # a Ctrl-C of the tests reaches them, not the daemons
            **munge.process_credentials(),  # type: ignore[arg-type]
        )
    if not wait_until(lambda: socket_path.exists() or munged.poll() is not None, 10.0):
        stop_process(munged)
    if munged.poll() is not None or not socket_path.exists():
        raise ServerError(
            f"munged did not create its socket {socket_path} (exit status {munged.poll()}):\n"
            f"{log_tail(folder / 'munged.log')}"
        )
    return munged


def _write_configuration(cluster: SlurmCluster, shape: NodeShape) -> None:
    folder = cluster.folder
    for name in ("state", "spool", "log", "tmp"):
        shutil.rmtree(folder / name, ignore_errors=True)  # a retry starts from nothing
        (folder / name).mkdir()
    node = cluster.node
    cluster.conf.write_text(
        f"""\
# The test cluster of {folder}: one node, this machine, everything in this folder.
ClusterName=mtlxtest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder / "munge" / "munge.socket"},cred_expire={CRED_EXPIRE_S}
StateSaveLocation={folder / "state"}
SlurmdSpoolDir={folder / "spool"}
SlurmctldPidFile={folder / "slurmctld.pid"}
SlurmdPidFile={folder / "slurmd.pid"}
SlurmctldLogFile={folder / "log" / "slurmctld.log"}
SlurmdLogFile={folder / "log" / "slurmd.log"}
TmpFS={folder / "tmp"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={max(shape.real_memory_mb // shape.cpus, 1)}
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
JobRequeue=1
ReturnToService=2
SchedulerParameters=batch_sched_delay=0,sched_interval=2
SlurmdParameters=config_overrides
MailProg=/bin/true
{shape.node_line(node)}
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""
    )


def _start_daemon(cluster: SlurmCluster, name: str, *arguments: str) -> subprocess.Popen:
    with (cluster.folder / "log" / f"{name}.stderr").open("w") as stderr:
        return subprocess.Popen(
            [str(cluster.commands[name]), *arguments],
            cwd=cluster.folder,
            env=cluster.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            # A Ctrl-C of the tests reaches them, not the daemons: the fixture stops those in order.
            start_new_session=True,
        )


def _wait_until_ready(cluster: SlurmCluster) -> bool:
    """True once jobs can run; False if a daemon exits or after ``READY_TIMEOUT_S``."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while cluster._alive("slurmctld") and cluster._alive("slurmd"):
        node_state = cluster.run("sinfo", "--noheader", "--Node", "--format=%t", check=False)
        if node_state.stdout.strip() == "idle":
            config = cluster.run("scontrol", "show", "config", check=False).stdout
            ours = rf"^SLURM_CONF\s*=\s*{re.escape(str(cluster.conf))}$"
            if re.search(ours, config, re.MULTILINE):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return False


def _daemon_status(cluster: SlurmCluster) -> str:
    return ", ".join(
        f"{name} {'running' if process.poll() is None else f'exited with {process.poll()}'}"
        for name, process in cluster.daemons.items()
    )
