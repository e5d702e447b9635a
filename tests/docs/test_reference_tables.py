"""The reference pages list exactly what the code has: config keys, errors, exit codes, variables,
tolerances. Each test reads a table from the docs and compares it with the code."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import seqframe.errors as errors
from seqframe.config import RunConfig
from seqframe.diagnostics.parity import TOLERANCES
from seqframe.testing import numerics
from seqframe.testing._common import tolerance
from seqframe.training.trainer import Interrupted
from tests.docs._tools import DOCS, REPO


def table_rows(page: Path) -> list[list[str]]:
    """Cells of every Markdown table row, backticks removed; separator rows skipped."""
    rows = []
    for line in (raw.strip() for raw in page.read_text().splitlines()):
        if line.startswith("|") and not re.match(r"^\|[\s\-|]+\|$", line):
            rows.append([c.strip().replace("`", "") for c in line.strip("|").split("|")])
    return rows


def toml_literal(value) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{}" if not value else repr(value)
    return repr(value)


def test_config_reference_lists_every_key_with_its_type_and_default():
    documented = {row[0]: row for row in table_rows(DOCS / "reference" / "config.md")
                  if row[0] in {f.name for f in dataclasses.fields(RunConfig)}}
    defaults = dataclasses.asdict(RunConfig())
    assert set(documented) == set(defaults), set(defaults) ^ set(documented)
    for key, row in documented.items():
        assert row[2] == toml_literal(defaults[key]), (key, row[2])
        tables = {"options": "table", "loss_options": "table"}
        kind = tables.get(key) or dataclasses.fields(RunConfig)[
            [f.name for f in dataclasses.fields(RunConfig)].index(key)].type
        assert row[1] in str(kind), (key, row[1], kind)


def test_errors_reference_lists_every_error_class_with_its_exit_code():
    rows = {row[0]: row for row in table_rows(DOCS / "reference" / "errors.md")}
    classes = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
               if issubclass(cls, errors.SeqframeError) and cls.__module__ == errors.__name__]
    for cls in classes:
        assert cls.__name__ in rows, f"{cls.__name__} is not in docs/reference/errors.md"
        assert rows[cls.__name__][2] == str(int(cls.exit_code)), cls
        base = cls.__bases__[0].__name__
        assert rows[cls.__name__][1] == base, (cls, base)
    interrupted = rows["seqframe.training.trainer.Interrupted"]
    assert interrupted[2] == str(Interrupted.exit_code) == "130"
    from seqframe.runs.rundir import RunLockedError

    locked = rows["seqframe.runs.rundir.RunLockedError"]
    assert locked[1:3] == [RunLockedError.__bases__[0].__name__, str(int(RunLockedError.exit_code))]


def test_errors_reference_lists_every_exit_code():
    rows = {row[0]: row for row in table_rows(DOCS / "reference" / "errors.md")}
    for code in errors.ExitCode:
        assert rows[str(int(code))][1] == code.name


def test_environment_reference_lists_every_variable_the_code_reads():
    page = (DOCS / "reference" / "environment.md").read_text()
    read = set()
    for path in [*REPO.joinpath("seqframe").rglob("*.py"), *REPO.joinpath("plugins").rglob("*.py"),
                 *REPO.joinpath("tasks").rglob("*.py")]:
        read |= set(re.findall(r"environ(?:\.get)?\(\s*[\"']([A-Z_]+)[\"']", path.read_text()))
        read |= set(re.findall(r"^[A-Z_]*ENV\s*=\s*[\"']([A-Z_]+)[\"']", path.read_text(), re.M))
    assert {"SEQFRAME_DISABLE_PLUGINS", "SEQFRAME_TORCH_FUSED", "HF_HUB_OFFLINE"} <= read
    missing = sorted(name for name in read if f"`{name}`" not in page)
    assert not missing, f"not in docs/reference/environment.md: {missing}"


def test_training_parity_tolerances_match_seqframe_parity():
    rows = [r for r in table_rows(DOCS / "concepts" / "backends-and-parity.md")
            if r[0] in ("float32", "float64") and len(r) == 3]
    assert {(r[0], r[1]): float(r[2]) for r in rows} == TOLERANCES


def short(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")  # 1e-05 -> 1e-5, as the docs write it


def test_testing_reference_states_the_tolerances_the_suites_use():
    page = (DOCS / "reference" / "testing.md").read_text()
    for dtype in ("float32", "float64"):
        op, window = tolerance(dtype), numerics.parity_tolerance(dtype)
        assert f"`rtol {short(op['rtol'])}, atol {short(op['atol'])}` ({dtype})" in page
        assert f"`rtol {short(window['rtol'])}, atol {short(window['atol'])}` in {dtype}" in page
    for scenario in numerics.SCENARIOS:
        assert f"`{scenario.name}`" in page
