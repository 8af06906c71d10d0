"""MDL training of a DARN (paper section 4): Monte Carlo -ELBO with h ~ q (or the S-sample
importance-weighted bound), the Appendix A estimator,
RMSprop with momentum 0.9 (Adam optional), minibatches of 100, optionally an exponential moving average
of the weights (what is validated and kept), early stopping on a validation split, checkpoints that a later run resumes from, seeded runs, on one process or several (torchrun)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from darncodec.model.darn import DARN
from darncodec.model.io import float_tensors, save_model
from darncodec.training.checkpoint import save_checkpoint
from darncodec.training.distributed import Team


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
    samples: int = 1               # importance samples per example: the cost is the S-sample bound (1: the -ELBO)
    ema: float = 0.0               # validate and keep an exponential moving average of the weights with this
                                   # decay per step (0: the weights themselves)

    def recipe(self) -> dict:
        """The settings that change the weights a run ends with (part of a checkpoint's recipe;
        ``samples`` and ``ema`` only where they are not their defaults, so that earlier runs' recipes
        still match)."""
        names = ("optimizer", "lr", "momentum", "lr_decay", "batch_size", "seed") + \
            (("samples",) if self.samples > 1 else ()) + (("ema",) if self.ema else ())
        return {name: getattr(self, name) for name in names}


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


def generator(device: torch.device, *key: int) -> torch.Generator:
    """A generator on ``device`` seeded by the integers ``key`` (seed, epoch, stream, rank), so that
    every draw of a run follows from its seed alone: a resumed run draws what the uninterrupted
    run would have drawn, and no random state needs to be saved."""
    seed = int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator(device=device).manual_seed(seed)


ORDER, TRAIN_NOISE, VALID_NOISE = range(3)       # the streams of random numbers of an epoch


class _Cost(nn.Module):
    """The cost of a batch (DARN.cost with ``samples``) as a module call, which DistributedDataParallel
    hooks into."""

    def __init__(self, model: DARN, samples: int) -> None:
        super().__init__()
        self.model, self.samples = model, samples

    def forward(self, x: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
        """Each example's cost, plus the batch's sparsity penalty (so that the batch mean carries it once)."""
        return self.model.cost(x, noise, samples=self.samples) + self.model.sparsity_penalty(x)


def batch_cost(cost: Callable[[torch.Tensor, torch.Generator], torch.Tensor], x: torch.Tensor,
               batch: torch.Tensor, noise: torch.Generator, team: Team) -> torch.Tensor:
    """This process's part of the mean -ELBO of the rows ``batch`` of ``x``: the sum over its share
    times the number of processes over the batch size, so that the gradients' average over the
    processes (what DistributedDataParallel computes) is the gradient of the mean over the batch."""
    return cost(x[batch[team.share(len(batch))].to(x.device)], noise).sum() * team.size / len(batch)


@torch.no_grad()
def mean_cost(model: DARN, data: torch.Tensor, team: Team, noise: torch.Generator,
              batch_size: int = 1000, samples: int = 1) -> float:
    """DARN.cost (the Monte Carlo -ELBO, or the ``samples``-sample bound), mean over ``data``, in nats;
    each process takes its share of ``data``."""
    mine = data[team.share(len(data))]
    total = sum(model.cost(mine[start:start + batch_size], noise, samples=samples).sum().item()
                for start in range(0, len(mine), batch_size))
    return team.total(total) / len(data)


def _finished(state: dict, settings: TrainSettings) -> bool:
    return (state["epoch"] >= settings.epochs or state["epoch"] - state["best_epoch"] >= settings.patience
            or state["wall"] > settings.max_minutes * 60)


def train(model: DARN, train_data: np.ndarray, valid_data: np.ndarray, settings: TrainSettings,
          run_dir: str | Path, recipe: dict | None = None, resume_from: dict | None = None,
          team: Team | None = None) -> TrainResult:
    """Train ``model`` in place on (N, pixels) 0/1 arrays; writes ``run_dir``/best.safetensors
    (the best model by validation cost) and, after every epoch, ``run_dir``/checkpoint.pt with
    ``recipe`` (see checkpoint.recipe), from which a later call continues (``resume_from``, what
    checkpoint.open_run returns) with the same result. With a ``team`` of several processes, each
    computes the cost of its share of every batch, gradients are averaged, process 0 writes."""
    run_dir = Path(run_dir)
    team = team or Team(0, 1, torch.device(settings.device))
    device = team.device
    if team.leader:
        run_dir.mkdir(parents=True, exist_ok=True)
    model.to(device)
    optimizer = make_optimizer(model, settings)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, settings.lr_decay)
    state = {"epoch": 0, "best": math.inf, "best_epoch": 0, "wall": 0.0}
    if resume_from is not None:
        model.load_state_dict(resume_from["model"])
        optimizer.load_state_dict(resume_from["optimizer"])
        schedule.load_state_dict(resume_from["schedule"])
        state = dict(resume_from["state"])
    # the weights validated and kept: an exponential moving average of the trained ones, or those themselves
    # (buffers are constants of the architecture, copied once)
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(settings.ema)) if settings.ema else None
    if resume_from is not None and averaged is not None:
        averaged.load_state_dict(resume_from["averaged"])
    kept = model if averaged is None else averaged.module
    cost = team.wrap(_Cost(model, settings.samples))

    x_train = torch.as_tensor(train_data, dtype=torch.float32, device=device)
    x_valid = torch.as_tensor(valid_data, dtype=torch.float32, device=device)
    pixels = x_train.shape[1]
    started = time.monotonic() - state["wall"]
    while not _finished(state, settings):
        model.train()
        epoch = state["epoch"]
        order = torch.randperm(len(x_train), generator=generator(torch.device("cpu"), settings.seed, epoch, ORDER))
        noise = generator(device, settings.seed, epoch, TRAIN_NOISE, team.rank)
        batches = range(0, len(x_train), settings.batch_size)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}", disable=not (settings.progress and team.leader),
                   leave=False, unit="batch")
        running = 0.0
        for n, start in enumerate(bar, 1):
            loss = batch_cost(cost, x_train, order[start:start + settings.batch_size], noise, team)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if averaged is not None:
                averaged.update_parameters(model)
            running += (loss.item() - running) / min(n, 50)
            if n % 20 == 0:
                bar.set_postfix(bpp=f"{running / math.log(2) / pixels:.4f}", nats=f"{running:.2f}")
        schedule.step()
        model.eval()
        valid = mean_cost(kept, x_valid, team, generator(device, settings.seed, epoch, VALID_NOISE, team.rank),
                          max(1, 1000 // settings.samples), settings.samples)
        state["epoch"] += 1
        state["wall"] = team.agree(lambda: time.monotonic() - started)
        improved = valid < state["best"]
        if improved:
            state["best"], state["best_epoch"] = valid, state["epoch"]
        if not team.leader:
            continue
        if improved:
            save_model(run_dir / "best.safetensors", model.config, float_tensors(kept))
        tqdm.write(f"epoch {state['epoch']}: train {running:.3f} nats, valid {valid:.3f} nats "
                   f"({valid / math.log(2) / pixels:.4f} bpp){' *' if improved else ''} "
                   f"[{state['wall'] / 60:.1f} min]")
        save_checkpoint(run_dir, recipe or {}, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                               "schedule": schedule.state_dict(), "state": state,
                                               **({} if averaged is None else {"averaged": averaged.state_dict()})})
    return TrainResult(state["best"], state["best_epoch"], state["epoch"], state["wall"], str(device))
