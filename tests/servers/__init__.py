"""Real servers the tests start: a private PostgreSQL and a single-node Slurm cluster.

Both come from Debian's packages (``postgresql``; ``slurmctld slurmd slurm-client munge``) and run
entirely inside a temporary folder on 127.0.0.1 with free ports, so any number of test sessions
share a machine. ``tests/conftest.py`` hands them out as fixtures; this package knows nothing of
pytest beyond :mod:`servers.requirement`, which turns a missing program into a skip, or into a
failure when ``MTLX_REQUIRE_SERVERS=1`` (as in CI).
"""
