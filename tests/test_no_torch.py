"""The coding commands run without PyTorch; the commands that need it say so in one line.

Each command runs in a subprocess whose PYTHONPATH starts with a fake `torch` package that fails
to import, as a missing torch does (pip install darncodec without the `train` extra).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "corpora" / "samples"
BLOCKER = 'raise ModuleNotFoundError("No module named \'torch\' (blocked by tests/test_no_torch.py)", name="torch")\n'


@pytest.fixture(scope="module")
def without_torch(tmp_path_factory):
    """Run `darncodec ARGS...` in a subprocess where `import torch` fails; returns CompletedProcess."""
    blocked = tmp_path_factory.mktemp("blocked")
    (blocked / "torch").mkdir()
    (blocked / "torch" / "__init__.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(blocked), os.environ.get("PYTHONPATH")])))
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert probe.returncode == 1 and "blocked by tests/test_no_torch.py" in probe.stderr, probe.stderr

    def darncodec(*args, cwd: Path) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", "from darncodec.cli.main import main; main()", *map(str, args)]
        return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)

    return darncodec


def test_coding_commands_run_without_torch(without_torch, tmp_path):
    shutil.copy(SAMPLES / "digit.png", tmp_path / "digit.png")
    for args in (["compress", "-m", "mnist", "digit.png"],
                 ["decompress", "digit.darn", "-o", "back.png"],
                 ["info", "digit.darn"],
                 ["models"],
                 ["bench", "digit.png", "--model", "mnist", "--codecs", "darncodec,png"]):
        done = without_torch(*args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stderr)
        assert "torch" not in done.stderr, (args, done.stderr)
    assert (tmp_path / "back.png").read_bytes()
    assert (tmp_path / "digit.darn").stat().st_size < (tmp_path / "digit.png").stat().st_size


@pytest.mark.parametrize("args, purpose", [
    (["train", "--corpus", "binarized_mnist", "-o", "m.safetensors"], "darncodec train"),
    (["eval", "-m", "mnist", "digit.png"], "darncodec eval"),
    (["sample", "-m", "mnist", "-o", "grid.png"], "darncodec sample"),
    (["compress", "-m", "mnist", "--device", "cuda", "digit.png"], "--device cuda"),
])
def test_torch_commands_say_what_to_install(without_torch, tmp_path, args, purpose):
    shutil.copy(SAMPLES / "digit.png", tmp_path / "digit.png")
    done = without_torch(*args, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [done.stderr.rstrip("\n")], done.stderr   # one line, no traceback
    assert done.stderr.startswith(f"darncodec: error: {purpose} needs PyTorch: pip install 'darncodec[train]'")
    assert "download.pytorch.org/whl/cpu" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digit.png"]   # nothing written
