"""The type checker (mypy, pinned in the test extra, configured in pyproject.toml)
passes over companion/ and labs/, and every `# type: ignore` says why."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_passes_over_companion_and_labs():
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout


def test_every_type_ignore_carries_its_code_and_a_reason():
    bare = []
    for path in [*ROOT.glob("companion/**/*.py"), *ROOT.glob("labs/**/*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "# type: ignore" in line and not re.search(
                    r"# type: ignore\[[a-z,-]+\]  # \S", line):
                bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert bare == []
