import io
import math
import re

import pandas as pd
from rich.console import Console

from mtlx.report import ReportTable, render_terminal


def rendered(table: ReportTable) -> str:
    console = Console(file=io.StringIO(), width=200)
    render_terminal(table, console)
    return console.file.getvalue()


def test_values_headers_and_no_ansi(results_table):
    output = rendered(results_table)
    assert "\x1b[" not in output
    for text in [
        "Cityscapes 100% test_split & more",
        "mgda_ub",
        "uw-o",
        "ew {x}",
        "mIoU ↑",
        "Abs Err ↓",
        "ΔM (%) ↓",
        "0.6898 ± 0.0021",
        "79.43 ± 1.25",
        "0.7011",
        "-3.25 ± 0.50",
        "mean ± std over 3 seeds; 50% of #runs",
    ]:
        assert text in output, text
    # A NaN std prints the mean alone; a missing value prints the dash.
    assert "0.7011 ±" not in output
    assert "—" in output


def test_markup_like_names_print_verbatim():
    frame = pd.DataFrame({"method": ["[bold]ew[/bold]"], "acc": [0.5], "acc.std": [math.nan]})
    table = ReportTable.from_frame(frame, "[red]title[/red]", ["method"], {"acc": True})
    output = rendered(table)
    assert "[bold]ew[/bold]" in output
    assert "[red]title[/red]" in output


def test_terminal_console_marks_best_in_bold(results_table):
    console = Console(file=io.StringIO(), width=200, force_terminal=True, color_system="standard")
    render_terminal(results_table, console)
    output = console.file.getvalue()
    # Right-justified cells carry their bold onto the padding spaces before the number.
    assert re.search(r"\x1b\[1m *0\.7011\x1b\[0m", output)
    assert re.search(r"\x1b\[1m *-3\.25 ± 0\.50\x1b\[0m", output)
    assert not re.search(r"\x1b\[1m *0\.6898", output)
    assert re.search(r"│ +0\.6898 ± 0\.0021 │", output)
