from mtlx.report import Column, ReportTable, render_markdown


def table_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def split_cells(line: str) -> list[str]:
    # Split on "|" not escaped by a backslash, dropping the outer empty pieces.
    cells, current, index = [], "", 0
    while index < len(line):
        if line[index] == "\\" and index + 1 < len(line):
            current += line[index : index + 2]
            index += 2
            continue
        if line[index] == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += line[index]
        index += 1
    return cells[1:]


def test_rows_and_columns_count(results_table):
    lines = table_lines(render_markdown(results_table))
    assert len(lines) == 2 + len(results_table.rows)  # header, alignment, rows
    for line in lines:
        assert len(split_cells(line)) == len(results_table.columns)


def test_header_arrows_alignment_and_title(results_table):
    markdown = render_markdown(results_table)
    header, alignment = table_lines(markdown)[:2]
    assert split_cells(header) == ["Method", "Optimizer", "mIoU ↑", "Abs Err ↓", "ΔM (%) ↓"]
    assert split_cells(alignment) == [":---", ":---", "---:", "---:", "---:"]
    assert markdown.splitlines()[0] == r"**Cityscapes 100% test\_split & more**"
    assert markdown.rstrip().endswith("- mean ± std over 3 seeds; 50% of #runs")


def test_cells_best_bold_and_missing(results_table):
    rows = [split_cells(line) for line in table_lines(render_markdown(results_table))[2:]]
    assert rows[0] == [r"mgda\_ub", "adam", "0.6898 ± 0.0021", "0.020 ± 0.000", "79.43 ± 1.25"]
    assert rows[1] == ["uw-o", "sgd", "**0.7011**", "**0.015**", "*12.50*"]
    assert rows[2] == ["ew {x}", "—", "—", "*0.019* ± 0.001", "**-3.25** ± 0.50"]


def test_pipe_in_a_cell_is_escaped():
    table = ReportTable(
        "pipes",
        [Column("method", "a|b"), Column("acc", "acc", higher_is_better=True)],
        [{"method": "x|y", "acc": 0.5}, {"method": "z", "acc": 0.25}],
    )
    lines = table_lines(render_markdown(table))
    assert lines[0] == r"| a\|b | acc ↑ |"
    assert lines[2] == r"| x\|y | **0.500** |"
    assert all(len(split_cells(line)) == 2 for line in lines)
