import re

import pytest

from mtlx.report import Column, ReportTable, best_rows, escape_latex, render_latex


def unescaped(text: str, char: str) -> int:
    """Occurrences of ``char`` not preceded by a backslash."""
    return len(re.findall(rf"(?<!\\){re.escape(char)}", text))


def assert_braces_balanced(text: str) -> None:
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2  # a control symbol such as \{ or \% is not a brace
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            assert depth >= 0, f"unbalanced '}}' at offset {index}"
        index += 1
    assert depth == 0


def body_rows(latex: str) -> list[str]:
    lines = latex.splitlines()
    return lines[lines.index(r"\midrule") + 1 : lines.index(r"\bottomrule")]


def test_environments_nest_in_order(results_table):
    latex = render_latex(results_table)
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", latex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack.pop() == name
    assert stack == []
    assert re.findall(r"\\begin\{(\w+)\}", latex) == ["table", "tabular"]


def test_braces_balanced_and_rules_once(results_table):
    latex = render_latex(results_table)
    assert_braces_balanced(latex)
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert latex.count(rule) == 1
    assert latex.index(r"\toprule") < latex.index(r"\midrule") < latex.index(r"\bottomrule")
    assert r"\centering" in latex
    assert latex.startswith("%") and "booktabs" in latex.splitlines()[0]


def test_every_row_has_one_ampersand_per_column_gap(results_table):
    latex = render_latex(results_table)
    lines = latex.splitlines()
    header = lines[lines.index(r"\toprule") + 1]
    rows = [header, *body_rows(latex)]
    assert len(rows) == 1 + len(results_table.rows)
    for row in rows:
        assert unescaped(row, "&") == len(results_table.columns) - 1
        assert row.endswith(r" \\")
    assert r"\begin{tabular}{llrrr}" in latex  # text left, metrics right


def test_text_and_title_are_escaped(results_table):
    latex = render_latex(results_table)
    assert r"mgda\_ub" in latex
    assert "uw-o" in latex
    assert r"ew \{x\}" in latex
    assert r"\caption{Cityscapes 100\% test\_split \& more}" in latex
    assert r"50\% of \#runs" in latex
    # No raw special character survives outside the markup we generate (the "%" ending the
    # \resizebox line is ours: it keeps a space out of the box).
    assert unescaped(latex.split(r"\caption")[1].replace("{%\n", "{\n"), "%") == 0
    assert unescaped(latex, "_") == 0
    assert unescaped(latex, "#") == 0


def test_escape_every_special_character():
    escaped = escape_latex(r"a_b%c&d#e$f{g}h~i^j\k")
    assert escaped == (
        r"a\_b\%c\&d\#e\$f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
    )
    assert_braces_balanced(escaped)
    assert escape_latex("ΔM ± σ") == r"\ensuremath{\Delta}M \ensuremath{\pm} \ensuremath{\sigma}"


def test_headers_have_direction_arrows(results_table):
    lines = render_latex(results_table).splitlines()
    header = lines[lines.index(r"\toprule") + 1]
    assert header == (
        r"Method & Optimizer & mIoU $\uparrow$ & Abs Err $\downarrow$ & "
        r"\ensuremath{\Delta}M (\%) $\downarrow$ \\"
    )


def test_best_cells_bold_with_precision_and_pm(results_table):
    rows = body_rows(render_latex(results_table))
    # mIoU (higher better): uw-o 0.7011, two values only, so no second; Abs Err (lower): uw-o
    # 0.015, then ew {x}; ΔM (lower): ew {x} −3.25, then uw-o.
    pm = r"{\scriptsize${}\pm{}$"
    assert rows[0] == (
        rf"mgda\_ub & adam & 0.6898{pm}0.0021}} & 0.020{pm}0.000}} & "
        rf"79.43{pm}1.25}} \\"
    )
    assert rows[1] == r"uw-o & sgd & \textbf{0.7011} & \textbf{0.015} & \underline{12.50} \\"
    # bold covers the mean only, never the ± std
    assert (
        rows[2] == rf"ew \{{x\}} & --- & --- & \underline{{0.019}}{pm}0.001}} & "
        rf"\textbf{{$-$3.25}}{pm}0.50}} \\"
    )
    assert sum(row.count(r"\textbf{") for row in rows) == 3


def test_ties_at_printed_precision_are_all_bold():
    table = ReportTable(
        "ties",
        [Column("m", "m"), Column("acc", "acc", higher_is_better=True, precision=2)],
        [{"m": "a", "acc": 0.901}, {"m": "b", "acc": 0.899}, {"m": "c", "acc": 0.5}],
    )
    assert best_rows(table, "acc") == {0, 1}
    rows = body_rows(render_latex(table))
    assert rows == [r"a & \textbf{0.90} \\", r"b & \textbf{0.90} \\", r"c & \underline{0.50} \\"]


def test_best_rows_refuses_text_columns_and_unknown_keys(results_table):
    with pytest.raises(ValueError, match="method"):
        best_rows(results_table, "method")
    with pytest.raises(KeyError, match="nope"):
        best_rows(results_table, "nope")


def test_row_missing_a_column_is_named():
    table = ReportTable("t", [Column("m", "m"), Column("acc", "acc", True)], [{"m": "a"}])
    with pytest.raises(KeyError, match=r"row 0 has no value for column 'acc'"):
        render_latex(table)
