"""MDL training of a DARN (paper section 4): Monte Carlo -ELBO with h ~ q, the Appendix A estimator,
RMSprop with momentum 0.9 (Adam optional), minibatches of 100, early stopping on a validation split,
checkpoints that a later run resumes from, seeded runs."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from darncodec.model.darn import DARN
from darncodec.model.io import float_tensors, save_model


@dataclass
class TrainSettings:
    epochs: int = 100
    batch_size: int = 100
    optimizer: str = "rmsprop"
    lr: float = 3e-4
    momentum: float = 0.9
    lr_decay: float = 1.0          # multiply the learning rate by this after every epoch
    patience: int = 10             # epochs without a better validation cost before stopping
    seed: int = 0
    device: str = "cpu"
    max_minutes: float = math.inf  # stop (keeping the best model) after this much wall time
    progress: bool = True


@dataclass
class TrainResult:
    best_valid_nats: float
    best_epoch: int
    epochs_run: int
    wall_seconds: float
    device: str


def make_optimizer(model: DARN, settings: TrainSettings) -> torch.optim.Optimizer:
    if settings.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=settings.lr, momentum=settings.momentum)
    if settings.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=settings.lr)
    raise ValueError(f"unknown optimizer {settings.optimizer!r} (rmsprop or adam)")


@torch.no_grad()
def mean_cost(model: DARN, data: torch.Tensor, batch_size: int = 1000,
              generator: torch.Generator | None = None) -> float:
    """Monte Carlo -ELBO (one sample of h per example), mean over ``data``, in nats."""
    total = 0.0
    for start in range(0, len(data), batch_size):
        total += model.cost(data[start:start + batch_size], generator).sum().item()
    return total / len(data)


def train(model: DARN, train_data: np.ndarray, valid_data: np.ndarray, settings: TrainSettings,
          run_dir: str | Path) -> TrainResult:
    """Train ``model`` in place on (N, pixels) 0/1 arrays; writes ``run_dir``/best.safetensors
    (the best model by validation cost) and ``run_dir``/checkpoint.pt (resumed if present)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(settings.device)
    torch.manual_seed(settings.seed)
    model.to(device)
    optimizer = make_optimizer(model, settings)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, settings.lr_decay)
    state = {"epoch": 0, "best": math.inf, "best_epoch": 0, "wall": 0.0}
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        torch.set_rng_state(saved["rng"])
        state = saved["state"]

    x_train = torch.as_tensor(train_data, dtype=torch.float32, device=device)
    x_valid = torch.as_tensor(valid_data, dtype=torch.float32, device=device)
    pixels = x_train.shape[1]
    started = time.monotonic() - state["wall"]
    while state["epoch"] < settings.epochs:
        model.train()
        order = torch.randperm(len(x_train), device=device)
        batches = range(0, len(x_train), settings.batch_size)
        bar = tqdm(batches, desc=f"epoch {state['epoch'] + 1}", disable=not settings.progress,
                   leave=False, unit="batch")
        running = 0.0
        for n, start in enumerate(bar, 1):
            loss = model.cost(x_train[order[start:start + settings.batch_size]]).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += (loss.item() - running) / min(n, 50)
            if n % 20 == 0:
                bar.set_postfix(bpp=f"{running / math.log(2) / pixels:.4f}", nats=f"{running:.2f}")
        schedule.step()
        model.eval()
        valid = mean_cost(model, x_valid)
        state["epoch"] += 1
        state["wall"] = time.monotonic() - started
        improved = valid < state["best"]
        if improved:
            state["best"], state["best_epoch"] = valid, state["epoch"]
            save_model(run_dir / "best.safetensors", model.config, float_tensors(model))
        tqdm.write(f"epoch {state['epoch']}: train {running:.3f} nats, valid {valid:.3f} nats "
                   f"({valid / math.log(2) / pixels:.4f} bpp){' *' if improved else ''} "
                   f"[{state['wall'] / 60:.1f} min]")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(), "rng": torch.get_rng_state(),
                    "state": state, "settings": asdict(settings)}, checkpoint)
        if state["epoch"] - state["best_epoch"] >= settings.patience:
            break
        if state["wall"] > settings.max_minutes * 60:
            break
    return TrainResult(state["best"], state["best_epoch"], state["epoch"], state["wall"], settings.device)
