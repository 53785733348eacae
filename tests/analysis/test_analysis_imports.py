import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE = REPOSITORY / "results.sqlite.example"


def loaded_modules(code: str) -> list[str]:
    """The heavy modules (torch, matplotlib) loaded after running ``code`` in a fresh Python."""
    probe = (
        f"{code}\nimport sys\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'matplotlib'}))"
    )
    path = os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def test_analysis_and_report_do_not_import_torch():
    # STYLE.md: nothing in analysis/ imports torch; reports must also run on a laptop without it.
    assert loaded_modules("import mtlx.analysis, mtlx.report, mtlx.tasks.kinds") == []


@pytest.mark.parametrize(
    "command",
    [
        ["report", "--format", "csv"],
        ["report", "--format", "latex", "--standalone"],
        ["pareto", "--by", "method-optimizer"],
        ["import", "--help"],
    ],
)
def test_report_and_pareto_run_without_torch_or_matplotlib(command):
    code = (
        "from typer.testing import CliRunner\nfrom mtlx.cli import app\n"
        f"result = CliRunner().invoke(app, {[*command, '--db', str(EXAMPLE)]!r})\n"
        "assert result.exit_code == 0, result.output"
    )
    assert loaded_modules(code) == []


def test_plots_import_matplotlib_but_not_torch(tmp_path):
    target = tmp_path / "pareto.png"
    code = (
        "from typer.testing import CliRunner\nfrom mtlx.cli import app\n"
        f"result = CliRunner().invoke(app, ['plot', 'pareto', '--db', {str(EXAMPLE)!r}, "
        f"'--output', {str(target)!r}])\n"
        "assert result.exit_code == 0, result.output"
    )
    assert loaded_modules(code) == ["matplotlib"]
    assert target.read_bytes().startswith(b"\x89PNG")
