"""A training run's folder: its checkpoint records what the run is trained for (the recipe), and a
later run resumes from it only when asked to (--resume) and only for the same recipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from darncodec.errors import InputError
from darncodec.fileio import write_atomically
from darncodec.model.config import DarnConfig

CHECKPOINT = "checkpoint.pt"
RUN_FILES = (CHECKPOINT, "best.safetensors", "summary.json")     # what a run writes in its folder


def recipe(config: DarnConfig, corpus: dict[str, Any], training: dict[str, Any]) -> dict[str, Any]:
    """What a run is trained for: the architecture (with its tile and corpus name), how the corpus
    was cut (threshold, tile count, the model it started from) and the settings that change the
    weights (optimiser, learning rate, batch size, seed). Epochs, patience, time limit, device and
    the number of processes are not part of it: a resumed run may change them."""
    return {"architecture": json.loads(config.to_json()), "corpus": corpus, "training": training}


def differences(saved: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    """'name was A, now B' for every entry of the two recipes that differs."""
    if saved is None:
        return ["it records no recipe (an older darncodec)"]
    found = []
    for part in sorted(set(saved) | set(wanted)):
        old, new = saved.get(part, {}), wanted.get(part, {})
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                found.append(f"{name} was {old.get(name)}, now {new.get(name)}")
    return found


def open_run(run_dir: Path, wanted: dict[str, Any], resume: bool, fresh: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from (on the CPU), or None to start afresh; ``fresh`` (without
    ``resume``) first removes what an earlier run wrote in ``run_dir``. Raises InputError with one
    line saying what to do when the folder holds a run that may not silently be resumed or lost."""
    if fresh and not resume:
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
        return None
    path = run_dir / CHECKPOINT
    if not path.exists():
        if resume:
            raise InputError(f"{run_dir}: no checkpoint to resume (leave out --resume to start afresh)")
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        epoch = saved["state"]["epoch"]
    except Exception as err:  # torch.load raises many kinds on a damaged or foreign file
        raise InputError(f"{path}: not a readable checkpoint ({type(err).__name__}); -f starts afresh") from None
    changed = differences(saved.get("recipe"), wanted)
    if changed:
        raise InputError(f"{run_dir} holds a run with other settings ({'; '.join(changed)}): -f starts afresh "
                         "and replaces it, or --run-dir DIR keeps it")
    if not resume:
        raise InputError(f"{run_dir} holds a run with these settings stopped after epoch {epoch}: --resume "
                         "continues it, -f starts afresh and replaces it")
    return saved


def save_checkpoint(run_dir: Path, wanted: dict[str, Any], state: dict[str, Any]) -> None:
    """Write ``state`` (weights, optimiser, epoch counters) with its recipe, atomically."""
    write_atomically(run_dir / CHECKPOINT, lambda tmp: torch.save({"recipe": wanted, **state}, tmp))
