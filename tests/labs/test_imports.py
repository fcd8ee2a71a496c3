"""labs/ is torch-free at import; only labs/experiments/ (one module per lab) imports torch.

Each module is imported alone in a fresh interpreter, so one module's imports
cannot hide behind another's. The modules are discovered, not listed: a new
module in labs/ is held to the rule the day it is added.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import labs
import labs.experiments

HEAVY = ("torch", "numpy", "sklearn")

# Everything directly in labs/: its modules (__main__ included) and its packages'
# __init__, labs.experiments' too (importing the package must not import its labs).
PROTOCOL = ["labs"] + sorted(f"labs.{m.name}" for m in pkgutil.iter_modules(labs.__path__))
EXPERIMENTS = sorted(
    f"labs.experiments.{m.name}" for m in pkgutil.iter_modules(labs.experiments.__path__)
)


def loaded_after_import(module: str) -> set[str]:
    """The top-level packages in sys.modules after `import module` in a fresh interpreter."""
    code = (f"import json, sys, {module}\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"import {module} failed:\n{done.stderr}"
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_discovery_finds_the_protocol_and_the_labs():
    # Guards the parametrisations below against silently covering nothing.
    assert {"labs.catalog", "labs.data", "labs.runner", "labs.__main__",
            "labs.experiments"} <= set(PROTOCOL)
    assert len(EXPERIMENTS) >= 3


@pytest.mark.parametrize("module", PROTOCOL)
def test_protocol_module_imports_no_torch_numpy_or_sklearn(module):
    loaded = loaded_after_import(module)
    assert not loaded & set(HEAVY), f"import {module} loads {sorted(loaded & set(HEAVY))}"
    assert "companion" not in loaded  # nothing in labs imports companion


@pytest.mark.parametrize("module", EXPERIMENTS)
def test_experiment_module_imports_and_keeps_off_companion(module):
    loaded = loaded_after_import(module)
    assert "torch" in loaded  # as expected of a lab body; it proves the import ran
    assert "companion" not in loaded


def test_every_lab_s_module_is_one_of_labs_experiments():
    code = ("import json, labs.catalog as c\n"
            "print(json.dumps({s.name: s.module for s in c.LABS.values()}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    modules = json.loads(done.stdout)
    assert sorted(modules.values()) == EXPERIMENTS, modules
