"""What the coding commands say: -v lines as zstd's, -q, the progress bar, a closed pipe, error paths."""

from __future__ import annotations

import errno
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import darncodec.terminal
from darncodec.cli.main import main
from darncodec.fileio import write_atomically
from darncodec.imageio import write_bilevel

VERBOSE_LINE = re.compile(r"^(?P<name>.+) : (?P<ratio>\d+\.\d\d)% \((?P<into>[\d.]+ (B|KiB|MiB)) => "
                          r"(?P<out>[\d.]+ (B|KiB|MiB)), (?P<output>.+)\)$")


@pytest.fixture(scope="module")
def model(tiny_model_path) -> str:
    return str(tiny_model_path)


@pytest.fixture
def page(tmp_path):
    image = np.random.default_rng(0).integers(0, 2, (40, 50), dtype=np.uint8)
    write_bilevel(tmp_path / "a.png", image)
    return tmp_path / "a.png"


def invoke(args: list):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_verbose_prints_one_line_per_input_as_zstd(tmp_path, page, model):
    done = invoke(["compress", "-v", "-m", model, page])
    assert done.exit_code == 0, done.output
    (line,) = done.stderr.splitlines()
    found = VERBOSE_LINE.match(line)
    assert found, line
    archive = tmp_path / "a.darn"
    assert found["name"] == str(page) and found["output"] == str(archive)
    assert found["into"] == f"{page.stat().st_size} B" and found["out"] == f"{archive.stat().st_size} B"
    assert float(found["ratio"]) == pytest.approx(100 * archive.stat().st_size / page.stat().st_size, abs=0.006)

    done = invoke(["decompress", "-v", "-m", model, archive, "-o", tmp_path / "back.png"])
    assert done.exit_code == 0, done.output
    found = VERBOSE_LINE.match(done.stderr.strip())
    assert found and found["name"] == str(archive) and found["output"] == str(tmp_path / "back.png"), done.stderr
    assert found["out"] == f"{(tmp_path / 'back.png').stat().st_size} B"


def test_without_verbose_nothing_is_said(page, model):
    done = invoke(["compress", "-m", model, page])
    assert done.exit_code == 0 and done.stderr == "" and done.stdout == ""


def test_quiet_silences_warnings(page, model, monkeypatch):
    import darncodec.imageio

    load = darncodec.imageio.load_inputs

    def warning_load(paths, *args):
        warnings.warn("a warning from a library", UserWarning, stacklevel=1)
        return load(paths, *args)

    monkeypatch.setattr(darncodec.imageio, "load_inputs", warning_load)
    with warnings.catch_warnings():   # shown on stderr, as outside pytest (which records them)
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, *_, **__: print(f"{category.__name__}: {message}",
                                                                          file=sys.stderr)
        loud = invoke(["compress", "-f", "-m", model, page])
        assert "a warning from a library" in loud.stderr
        quiet = invoke(["compress", "-f", "-q", "-m", model, page])
    assert quiet.exit_code == 0 and quiet.stderr == ""


@pytest.mark.parametrize("terminal, quiet", [(True, False), (False, False), (True, True)])
def test_progress_bar_only_on_a_terminal(page, model, monkeypatch, terminal, quiet):
    monkeypatch.setattr(darncodec.terminal, "stderr_is_terminal", lambda: terminal)
    monkeypatch.setattr(darncodec.terminal, "PROGRESS_DELAY_S", 0.0)
    done = invoke(["compress", "-f", "-m", model, page] + (["-q"] if quiet else []))
    assert done.exit_code == 0, done.output
    shown = "tile" in done.stderr and "compress" in done.stderr
    assert shown == (terminal and not quiet), done.stderr


def test_closed_pipe_ends_quietly(tmp_path, page, model):
    """`darncodec info x.darn | head -1`: the reader is gone before the command writes."""
    assert invoke(["compress", "-m", model, page]).exit_code == 0
    command = [sys.executable, "-c", "from darncodec.cli.main import main; main()", "info", "-m", model,
               tmp_path / "a.darn"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141, stderr
    assert stderr == ""


def test_write_error_names_the_output_not_the_part_file(tmp_path, page, model, monkeypatch):
    import darncodec.imageio

    assert invoke(["compress", "-m", model, page]).exit_code == 0

    def disk_full(path, bits, fmt="png"):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(darncodec.imageio, "write_bilevel", disk_full)
    done = invoke(["decompress", "-m", model, tmp_path / "a.darn", "-o", tmp_path / "out.png"])
    assert done.exit_code == 1
    assert done.stderr.strip() == f"darncodec: error: {tmp_path / 'out.png'}: No space left on device"
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_atomic_write_names_the_target_when_no_temporary_file_can_be_made(tmp_path):
    target = tmp_path / "missing" / "out.darn"
    with pytest.raises(FileNotFoundError) as caught:
        write_atomically(target, lambda tmp: None)
    assert caught.value.filename == str(target) and ".part" not in str(caught.value)
