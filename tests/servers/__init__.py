"""Real servers the tests start: a private PostgreSQL and a single-node Slurm cluster.

Both come from Debian's packages (``postgresql``; ``slurmctld slurmd slurm-client munge``) and run
entirely inside a temporary folder on 127.0.0.1 with free ports, so several test sessions can
share a machine. :mod:`servers.postgresql` and :mod:`servers.slurm` start and stop them;
:mod:`servers.fixtures` hands them to tests (``tests/conftest.py`` imports those fixtures), and
:mod:`servers.requirement` turns a server this machine cannot run into a skip, or into a failure
when ``MTLX_REQUIRE_SERVERS=1`` (as in CI).
"""
