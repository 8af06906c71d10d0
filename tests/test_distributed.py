"""`darncodec train` under torchrun: two CPU processes (gloo) on a tiny model and corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from darncodec.evaluation import negative_elbo
from darncodec.model.config import DarnConfig
from darncodec.model.darn import DARN
from darncodec.model.io import load_tensors
from darncodec.training.datasets import load_training_corpus
from darncodec.training.distributed import Team
from darncodec.training.trainer import ORDER, TRAIN_NOISE, TrainSettings, batch_cost, generator, make_optimizer

ARCHITECTURE = ["--tile", "6x6", "--latent", "4", "--hidden", "5", "--visible", "local", "--radius", "1"]
CONFIG = dict(latent=(4,), hidden=5, visible="local", radius=1)


def _corpus(path: Path, count: int) -> Path:
    """``count`` 6x6 tiles: ink on every other row, or its negative, with 3% of the pixels flipped."""
    rng = np.random.default_rng(0)
    stripes = np.zeros((count, 6, 6), np.uint8)
    stripes[:, ::2] = 1
    data = np.where(rng.random((count, 1, 1)) < 0.5, stripes, 1 - stripes) ^ (rng.random((count, 6, 6)) < 0.03)
    np.savez(path, images=data.astype(np.uint8))
    return path


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "darncodec.cli", "train", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _summary(result: subprocess.CompletedProcess) -> dict:
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, result.stdout       # process 0 alone reports
    return json.loads(lines[0])


def test_two_processes_take_the_step_one_process_takes_on_the_whole_batch(tmp_path) -> None:
    """One RMSprop step on a global batch of 100: process r computes the -ELBO of its 50 examples
    with its own draws of h, gradients are averaged. One process computing the mean over the same
    100 examples with the same draws ends with the same weights."""
    corpus = _corpus(tmp_path / "corpus.npz", 105)                     # 5% held out: 100 to train on
    _torchrun("--corpus", str(corpus), *ARCHITECTURE, "--epochs", "1", "--batch-size", "100",
              "-o", str(tmp_path / "m.safetensors"))
    train_data, _, tile = load_training_corpus(str(corpus), (6, 6), 0)
    assert len(train_data) == 100
    torch.manual_seed(0)
    model = DARN(DarnConfig(*tile, **CONFIG))
    before = {name: value.clone() for name, value in model.state_dict().items()}
    optimizer = make_optimizer(model, TrainSettings())
    cpu = torch.device("cpu")
    order = torch.randperm(100, generator=generator(cpu, 0, 0, ORDER))
    x = torch.as_tensor(train_data, dtype=torch.float32)[order]
    loss = sum(model.cost(x[50 * rank:50 * (rank + 1)], generator(cpu, 0, 0, TRAIN_NOISE, rank)).sum()
               for rank in (0, 1)) / 100
    loss.backward()
    optimizer.step()
    _, tensors = load_tensors(tmp_path / "m.safetensors.run" / "best.safetensors")
    for name, value in model.state_dict().items():
        torch.testing.assert_close(torch.from_numpy(tensors["float." + name]), value, rtol=1e-5, atol=1e-6)
    assert sum(not torch.equal(before[name], value) for name, value in model.state_dict().items()) >= 6


def test_a_short_two_process_run_lowers_the_elbo_and_resumes(tmp_path) -> None:
    corpus = _corpus(tmp_path / "corpus.npz", 400)
    model_path = tmp_path / "m.safetensors"
    options = ["--corpus", str(corpus), *ARCHITECTURE, "--optimizer", "adam", "--lr", "0.03", "-o", str(model_path)]
    first = _summary(_torchrun(*options, "--epochs", "2"))
    resumed = _torchrun(*options, "--epochs", "4", "--resume", "-f")
    summary = _summary(resumed)
    assert (first["epochs_run"], summary["epochs_run"], summary["processes"]) == (2, 4, 2)
    assert "epoch 1:" not in resumed.stdout and "epoch 3:" in resumed.stdout
    _, valid, tile = load_training_corpus(str(corpus), (6, 6), 0)
    torch.manual_seed(0)
    start = negative_elbo(DARN(DarnConfig(*tile, **CONFIG)).eval(), torch.as_tensor(valid, dtype=torch.float32),
                          samples=20).mean()
    assert summary["best_valid_nats"] < start - 3.0
    assert summary["best_valid_nats"] <= first["best_valid_nats"]
    assert load_tensors(model_path)[0].latent == (4,)


def test_the_average_of_the_shares_gradients_is_the_batch_means_gradient() -> None:
    """What each process differentiates (batch_cost), averaged over the processes as
    DistributedDataParallel does, is the gradient of the mean -ELBO of the whole batch, scale
    included (one RMSprop or Adam step, as in the test above, would not show a wrong scale)."""
    torch.manual_seed(0)
    model = DARN(DarnConfig(6, 6, **CONFIG))
    x = (torch.rand(40, 36, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    batch = torch.randperm(11, generator=torch.Generator().manual_seed(2)) + 3
    cpu = torch.device("cpu")

    def gradients(loss: torch.Tensor) -> list[torch.Tensor]:
        model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    shares = [gradients(batch_cost(model.cost, x, batch, generator(cpu, 0, 0, TRAIN_NOISE, rank),
                                   Team(rank, 3, cpu))) for rank in range(3)]
    whole = gradients(sum(model.cost(x[batch[Team(rank, 3, cpu).share(11)]], generator(cpu, 0, 0, TRAIN_NOISE, rank)).sum()
                          for rank in range(3)) / 11)
    for parts, expected in zip(zip(*shares), whole):
        torch.testing.assert_close(sum(parts) / 3, expected)


@pytest.mark.parametrize("count", [5, 8])
def test_shares_cover_a_batch_once(count: int) -> None:
    shares = [range(count)[Team(rank, 3, torch.device("cpu")).share(count)] for rank in range(3)]
    assert [i for share in shares for i in share] == list(range(count))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
