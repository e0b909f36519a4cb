"""The layers of ../shared/DESIGN.md hold: `lint-imports` checks the contracts of
pyproject.toml ([tool.importlinter]: imports point down only, lazily or not; the
runtime generated code imports needs nothing of loopc but its errors)."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("importlinter", reason="import-linter checks the layers: pip install -e '.[test]'")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_contracts_are_kept():
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
                           "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True)
    report = done.stdout + done.stderr
    broken = re.findall(r"^(.*\S) BROKEN$", report, re.MULTILINE)
    assert done.returncode == 0, (f"broken import contracts: {', '.join(broken) or '(see the report)'}\n"
                                  f"{report}")
    assert re.search(r"Contracts: \d+ kept, 0 broken", report), report
