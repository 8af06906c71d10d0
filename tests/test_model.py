"""The DARN model, its estimator and its evaluation (paper sections 2, 4 and 5)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from darncodec.errors import InputError, ModelError
from darncodec.evaluation import exact_nll, importance_sampled_nll, negative_elbo
from darncodec.model.config import DarnConfig
from darncodec.model.darn import DARN
from darncodec.model.io import build_float_model, content_hash, float_tensors, load_tensors, save_model
from darncodec.training.checkpoint import open_run, recipe
from darncodec.training.trainer import TrainSettings, train


def random_model(config: DarnConfig, scale: float = 0.5, seed: int = 0) -> DARN:
    torch.manual_seed(seed)
    model = DARN(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, scale)
    return model.eval()


CONFIGS = [
    DarnConfig(4, 5, latent=(6,), hidden=0, visible="full"),
    DarnConfig(5, 5, latent=(7, 3), hidden=4, visible="local", radius=2, skip=True),
    DarnConfig(5, 4, latent=(5,), hidden=3, visible="local", radius=1, shared=True, encoder_autoregressive=True),
    DarnConfig(6, 5, latent=(4,), hidden=3, visible="local", radius=2, shared=True, table=6),
    DarnConfig(8, 6, latent=(4, 3), hidden=3, visible="local", radius=1, shared=True, local_hidden=(2, 4, 2, 2)),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.visible}-{c.table}")
def test_autoregressive_layers_are_strictly_causal(config: DarnConfig) -> None:
    """Changing unit j never changes the probabilities of units 0..j of the same layer."""
    model = random_model(config)
    gen = torch.Generator().manual_seed(1)
    x = torch.bernoulli(torch.full((1, config.pixels), 0.5), generator=gen)
    hs = [torch.bernoulli(torch.full((1, n), 0.5), generator=gen) for n in config.latent]
    for j in range(config.pixels):
        flipped = x.clone()
        flipped[0, j] = 1 - flipped[0, j]
        before, after = model.visible_logits(x, hs), model.visible_logits(flipped, hs)
        assert torch.equal(before[0, : j + 1], after[0, : j + 1])
    for k, n in enumerate(config.latent):
        for j in range(n):
            flipped = [h.clone() for h in hs]
            flipped[k][0, j] = 1 - flipped[k][0, j]
            before, after = model.latent_logits(hs)[k], model.latent_logits(flipped)[k]
            assert torch.equal(before[0, : j + 1], after[0, : j + 1])
            if k == 0:
                enc_before, enc_after = model.encoder_logits(x, hs)[0], model.encoder_logits(x, flipped)[0]
                assert torch.equal(enc_before[0, : j + 1], enc_after[0, : j + 1])


def _all_states(n: int) -> torch.Tensor:
    return ((torch.arange(2 ** n)[:, None] >> torch.arange(n)) & 1).float()


def test_estimator_mean_gradient_matches_exact_gradient() -> None:
    """Appendix A: the mean estimated gradient of the -ELBO w.r.t. the encoder agrees with the exact
    gradient of the expected cost (summing over every h) within Monte Carlo error.

    The estimator is unbiased when the cost is at most quadratic in each h_i; with small decoder
    weights the cost is close to that, so any remaining bias is far below the Monte Carlo error."""
    config = DarnConfig(2, 2, latent=(3,), hidden=0, visible="factorised")
    model = random_model(config, scale=0.3, seed=3)
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.normal_(0, 1.0, generator=torch.Generator().manual_seed(4))
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    params = list(model.encoder.parameters())

    states = _all_states(3)
    logits = model.encoder_logits(x.expand(8, -1), [states])[0]
    log_q = -torch.nn.functional.binary_cross_entropy_with_logits(logits, states, reduction="none").sum(1)
    expected = (log_q.exp() * (log_q - model.log_joint(x.expand(8, -1), [states]))).sum()
    exact = torch.cat([g.flatten() for g in torch.autograd.grad(expected, params)])

    n, chunk = 40000, 200
    gen = torch.Generator().manual_seed(5)
    sums = torch.stack([torch.cat([g.flatten() for g in torch.autograd.grad(model.cost(x.expand(chunk, -1), gen).sum(), params)])
                        for _ in range(n // chunk)])             # (n / chunk, params)
    mean = sums.sum(0) / n
    stderr = sums.std(0) / (chunk * math.sqrt(len(sums)))
    live = stderr > 0                                            # weights of x_i = 0 get no gradient at all
    assert torch.equal(exact[~live], mean[~live])
    z = (mean[live] - exact[live]).abs() / stderr[live]
    assert z.max() < 4.5, f"estimator disagrees with the exact gradient: z = {z.max():.2f}"


def test_enumeration_and_importance_sampling_agree() -> None:
    config = DarnConfig(3, 3, latent=(4, 2), hidden=3, visible="local", radius=1)
    model = random_model(config, scale=0.7)
    x = torch.bernoulli(torch.full((6, 9), 0.4), generator=torch.Generator().manual_seed(2))
    exact = exact_nll(model, x)
    estimate = importance_sampled_nll(model, x, samples=20000, repeats=4, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(estimate.per_example, exact.per_example, atol=0.02)
    elbo = negative_elbo(model, x, samples=200, generator=torch.Generator().manual_seed(4))
    assert (elbo >= exact.per_example - 0.05).all()     # the -ELBO bounds -log p(x) from above


def test_the_bound_of_more_samples_is_tighter_and_training_on_it_lowers_it(tmp_path) -> None:
    config = DarnConfig(3, 3, latent=(4,), hidden=3, visible="local", radius=1)
    model = random_model(config, scale=0.7)
    x = torch.bernoulli(torch.full((6, 9), 0.4), generator=torch.Generator().manual_seed(2))
    exact = exact_nll(model, x).per_example
    noise = torch.Generator().manual_seed(5)
    with torch.no_grad():
        bounds = {s: torch.stack([model.cost(x, noise, samples=s) for _ in range(400)]).mean(0).numpy()
                  for s in (1, 4, 64)}
    assert (bounds[1] > bounds[4] + 0.01).all() and (bounds[4] > bounds[64]).all()
    assert (bounds[64] > exact - 0.02).all() and np.abs(bounds[64] - exact).max() < np.abs(bounds[4] - exact).max() / 2

    rng = np.random.default_rng(0)
    prototypes = rng.random((3, 16)) < 0.5
    data = (prototypes[rng.integers(0, 3, 600)] ^ (rng.random((600, 16)) < 0.05)).astype(np.uint8)
    model = DARN(DarnConfig(4, 4, latent=(4,), hidden=8, visible="local", radius=1))
    valid = torch.tensor(data[500:], dtype=torch.float32)
    before = importance_sampled_nll(model, valid, samples=4, repeats=5, generator=torch.Generator().manual_seed(1)).mean
    settings = TrainSettings(epochs=10, optimizer="adam", lr=3e-2, patience=100, progress=False, samples=4)
    result = train(model, data[:500], data[500:], settings, tmp_path)
    after = importance_sampled_nll(model, valid, samples=4, repeats=5, generator=torch.Generator().manual_seed(1)).mean
    assert after < before - 2.0 and abs(result.best_valid_nats - after) < 1.0   # validation measured the same bound
    assert settings.recipe()["samples"] == 4 and "samples" not in TrainSettings().recipe()


def test_exact_enumeration_refuses_too_many_units() -> None:
    model = random_model(DarnConfig(2, 2, latent=(17,), hidden=0))
    with pytest.raises(ValueError, match="16"):
        exact_nll(model, torch.zeros(1, 4))


def test_short_training_lowers_the_cost(tmp_path) -> None:
    rng = np.random.default_rng(0)
    prototypes = rng.random((3, 16)) < 0.5
    data = prototypes[rng.integers(0, 3, 600)] ^ (rng.random((600, 16)) < 0.05)
    model = DARN(DarnConfig(4, 4, latent=(4,), hidden=8, visible="local", radius=1))
    x = torch.tensor(data[500:], dtype=torch.float32)
    before = negative_elbo(model, x, samples=20).mean()
    settings = TrainSettings(epochs=15, optimizer="adam", lr=3e-2, patience=100, progress=False)
    result = train(model, data[:500].astype(np.uint8), data[500:].astype(np.uint8), settings, tmp_path)
    after = negative_elbo(model, x, samples=20).mean()
    assert after < before - 2.0
    assert (tmp_path / "best.safetensors").exists() and result.epochs_run == 15


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_training_resumes_from_its_checkpoint_with_the_same_result(tmp_path, ema) -> None:
    """Two epochs, then a third from the checkpoint, end where three epochs in one go end (with a
    moving average of the weights too: the checkpoint holds it)."""
    data = (np.random.default_rng(1).random((200, 4)) < 0.3).astype(np.uint8)
    config = DarnConfig(1, 4, latent=(2,), hidden=0)
    settings = TrainSettings(epochs=3, progress=False, ema=ema)
    wanted = recipe(config, {}, settings.recipe())
    torch.manual_seed(0)
    whole = train(DARN(config), data, data[:50], settings, tmp_path / "whole", wanted)
    torch.manual_seed(0)
    first = train(DARN(config), data, data[:50], replace(settings, epochs=2), tmp_path / "parts", wanted)
    with pytest.raises(InputError, match="these settings stopped after epoch 2: --resume continues it"):
        open_run(tmp_path / "parts", wanted, resume=False, fresh=False)
    resumed = train(DARN(config), data, data[:50], settings, tmp_path / "parts", wanted,
                    open_run(tmp_path / "parts", wanted, resume=True, fresh=False))
    assert (first.epochs_run, resumed.epochs_run) == (2, 3) and resumed.best_valid_nats == whole.best_valid_nats
    hashes = {content_hash(*load_tensors(tmp_path / run / "best.safetensors")) for run in ("parts", "whole")}
    assert len(hashes) == 1


def test_with_a_moving_average_the_averaged_weights_are_validated_and_kept(tmp_path) -> None:
    data = (np.random.default_rng(1).random((300, 4)) < 0.3).astype(np.uint8)
    config = DarnConfig(1, 4, latent=(2,), hidden=3)
    settings = TrainSettings(epochs=1, progress=False, ema=0.99, optimizer="adam", lr=1e-2)
    assert settings.recipe()["ema"] == 0.99 and "ema" not in TrainSettings().recipe()
    torch.manual_seed(0)
    start = DARN(config)
    first = {k: v.clone() for k, v in start.state_dict().items()}
    trained = train(start, data, data[:100], settings, tmp_path)
    kept = build_float_model(*load_tensors(tmp_path / "best.safetensors")).state_dict()
    raw = start.state_dict()
    for name in raw:   # kept: neither the weights the run started from nor those it ended with
        assert not torch.equal(kept[name], first[name]) and not torch.equal(kept[name], raw[name])
    moved = [sum((weights[name] - first[name]).abs().sum() for name in raw) for weights in (kept, raw)]
    assert moved[0] < moved[1]   # an average over the steps lags behind the weights
    valid = torch.tensor(data[:100], dtype=torch.float32)
    assert trained.best_valid_nats == pytest.approx(negative_elbo(build_float_model(
        *load_tensors(tmp_path / "best.safetensors")), valid, samples=1).mean().item(), abs=1.0)


def test_a_checkpoint_of_another_recipe_is_refused_in_one_line(tmp_path) -> None:
    data = (np.random.default_rng(1).random((100, 4)) < 0.3).astype(np.uint8)
    settings = TrainSettings(epochs=1, progress=False)
    small, large = DarnConfig(1, 4, latent=(2,), hidden=0), DarnConfig(1, 4, latent=(3,), hidden=5)
    train(DARN(small), data, data[:50], settings, tmp_path, recipe(small, {}, settings.recipe()))
    for resume in (False, True):
        with pytest.raises(InputError, match=r"hidden was 0, now 5; latent was \[2\], now \[3\]\): -f starts afresh") as refusal:
            open_run(tmp_path, recipe(large, {}, settings.recipe()), resume=resume, fresh=False)
        assert "\n" not in str(refusal.value)
    assert open_run(tmp_path, recipe(large, {}, settings.recipe()), resume=False, fresh=True) is None
    assert not (tmp_path / "checkpoint.pt").exists() and not (tmp_path / "best.safetensors").exists()
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable checkpoint"):
        open_run(tmp_path, recipe(large, {}, settings.recipe()), resume=True, fresh=False)


def test_saved_and_reloaded_model_gives_the_same_probabilities(tmp_path) -> None:
    config = CONFIGS[1]
    model = random_model(config)
    path = tmp_path / "m.safetensors"
    digest = save_model(path, config, float_tensors(model))
    loaded_config, tensors = load_tensors(path)
    assert loaded_config == config and content_hash(loaded_config, tensors) == digest
    reloaded = build_float_model(loaded_config, tensors)
    x = torch.bernoulli(torch.full((3, config.pixels), 0.5))
    hs = [torch.bernoulli(torch.full((3, n), 0.5)) for n in config.latent]
    assert torch.equal(model.visible_logits(x, hs), reloaded.visible_logits(x, hs))
    assert torch.equal(model.log_q(x, hs), reloaded.log_q(x, hs))


def test_corrupt_or_foreign_model_files_give_clear_errors(tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(path, CONFIGS[0], float_tensors(random_model(CONFIGS[0])))
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(path.read_bytes()[:-100])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    for bad in (damaged, garbage, tmp_path / "missing.safetensors"):
        with pytest.raises(ModelError, match=bad.name):
            load_tensors(bad)
    config, tensors = load_tensors(path)
    with pytest.raises(ModelError, match="do not fit"):
        build_float_model(CONFIGS[1], tensors)


def test_config_rejects_impossible_architectures() -> None:
    with pytest.raises(ValueError):
        DarnConfig(0, 4)
    with pytest.raises(ValueError):
        DarnConfig(4, 4, visible="local", radius=0)
    with pytest.raises(ValueError):
        DarnConfig(4, 4, visible="nonsense")
    with pytest.raises(ValueError):
        DarnConfig(4, 4, visible="factorised", table=4)
    with pytest.raises(ValueError):
        DarnConfig(4, 4, visible="local", radius=1, table=5)
    for bad in ((2, 3, 2), (0, 3, 2, 2), (2, 3, 5, 2), (2, 33, 2, 2), (300, 3, 2, 2), (2, 3, 2, 5)):
        with pytest.raises(ValueError, match="local_hidden"):
            DarnConfig(4, 4, local_hidden=bad)
    with pytest.raises(ValueError, match="taps"):   # a few weights in a file must not claim gigabytes of taps
        DarnConfig(20000, 20000, local_hidden=(1, 1, 20000, 1))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.visible}-{c.table}")
def test_one_units_logit_is_what_the_whole_layer_computes(config: DarnConfig) -> None:
    """Ancestral sampling's per-unit logits equal the columns of the layers' full forward pass."""
    model = random_model(config)
    x = (torch.rand(7, config.pixels, generator=torch.Generator().manual_seed(3)) < 0.4).float()
    layers = [(ar, torch.rand(7, ar.weight.shape[0]).round()) for ar in model.latent_ar]
    if model.visible_ar is not None:
        layers.append((model.visible_ar, x))
    for ar, values in layers:
        full = ar(values)
        for j in range(values.shape[1]):
            torch.testing.assert_close(ar.unit_logit(values, j), full[:, j])


def test_ancestral_samples_have_the_tile_shape() -> None:
    model = random_model(CONFIGS[1])
    samples = model.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, CONFIGS[1].pixels) and set(samples.unique().tolist()) <= {0.0, 1.0}


def test_fdarn_samples_sparsely_what_the_dense_sampler_draws() -> None:
    model = random_model(DarnConfig(4, 5, latent=(12,), hidden=0, visible="factorised", sparsity=0.1), scale=1.0)
    assert model.config.samples_sparsely
    h, latent_logits, visible_logits, additions = model.sample_sparse(200, torch.Generator().manual_seed(1))
    torch.testing.assert_close(latent_logits, model.latent_logits([h])[0])
    torch.testing.assert_close(visible_logits, model._context(0, [h]))
    torch.testing.assert_close(additions, h.sum(1) * (12 + 20))
    sparse = model.sample(200, torch.Generator().manual_seed(2))
    dense = model.sample(200, torch.Generator().manual_seed(2), sparse=False)
    assert (sparse == dense).float().mean() > 0.99   # the same draws, up to rounding of the logits
    with pytest.raises(ValueError, match="sparse sampling"):
        random_model(DarnConfig(4, 5, latent=(12,), hidden=3)).sample_sparse(1)


def test_training_with_a_sparsity_target_makes_the_code_sparse(tmp_path) -> None:
    rng = np.random.default_rng(0)
    prototypes = rng.random((6, 16)) < 0.5
    data = (prototypes[rng.integers(0, 6, 600)] ^ (rng.random((600, 16)) < 0.05)).astype(np.uint8)
    x = torch.tensor(data, dtype=torch.float32)
    activity = {}
    for rho in (0.0, 0.1):
        torch.manual_seed(0)
        model = DARN(DarnConfig(4, 4, latent=(20,), hidden=0, sparsity=rho))
        settings = TrainSettings(epochs=15, optimizer="adam", lr=3e-2, patience=100, progress=False)
        train(model, data[:500], data[500:], settings, tmp_path / str(rho))
        with torch.no_grad():
            activity[rho] = float(torch.sigmoid(model.encoder[0](x)).mean())
    assert activity[0.1] < 0.2 < activity[0.0]
    assert DarnConfig(4, 4).to_json() == DarnConfig(4, 4, sparsity=0).to_json()   # older models keep their hash
    with pytest.raises(ValueError, match="sparsity"):
        DarnConfig(4, 4, sparsity=1.5)


def test_periodic_kernels_are_per_position_kernels_repeated_with_the_period() -> None:
    periodic = random_model(DarnConfig(7, 10, latent=(3,), hidden=2, visible="local", radius=2, period=3))
    assert periodic.visible_ar.weight.shape == (9, 12)
    per_position = DARN(DarnConfig(7, 10, latent=(3,), hidden=2, visible="local", radius=2))
    state = periodic.state_dict()
    y, x = np.divmod(np.arange(70), 10)
    state["visible_ar.weight"] = state["visible_ar.weight"][torch.from_numpy((y % 3) * 3 + x % 3)]
    per_position.load_state_dict(state)
    pixels = torch.bernoulli(torch.full((5, 70), 0.3), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(periodic.visible_ar(pixels), per_position.visible_ar(pixels))
    for j in (0, 13, 69):
        torch.testing.assert_close(periodic.visible_ar.unit_logit(pixels, j), periodic.visible_ar(pixels)[:, j])
    for bad in (dict(period=3, shared=True), dict(period=1), dict(period=11)):
        with pytest.raises(ValueError, match="periodic"):
            DarnConfig(7, 10, visible="local", radius=2, **bad)


def test_a_periodic_locally_connected_layer_sums_each_window_with_its_class_kernel() -> None:
    """PeriodicLocal against a loop over output positions, channels and window taps, both ways: from
    a tile to a coarser grid (a stride) and from a grid to a finer tile (each cell repeated)."""
    from darncodec.model.layers import PeriodicLocal

    torch.manual_seed(0)
    for inputs, outputs, kernel, period in [((7, 9, 1), (3, 4, 3), 4, 2), ((3, 4, 2), (7, 9, 1), 2, 3)]:
        layer = PeriodicLocal(inputs, outputs, kernel, period)
        x = torch.randn(2, math.prod(inputs))
        grid = x.view(2, *inputs)
        expected = torch.zeros(2, *outputs)
        for i in range(outputs[0]):
            for j in range(outputs[1]):
                kernel_of = (i % period) * period + j % period
                cy = (2 * i + 1) * inputs[0] // (2 * outputs[0]) - kernel // 2
                cx = (2 * j + 1) * inputs[1] // (2 * outputs[1]) - kernel // 2
                for o in range(outputs[2]):
                    total = layer.bias[kernel_of, o].clone()
                    for tap, (dy, dx, c) in enumerate(np.ndindex(kernel, kernel, inputs[2])):
                        y, z = cy + dy, cx + dx
                        if 0 <= y < inputs[0] and 0 <= z < inputs[1]:
                            total = total + layer.weight[kernel_of, o, tap] * grid[:, y, z, c]
                    expected[:, i, j, o] = total
        torch.testing.assert_close(layer(x), expected.reshape(2, -1))


def test_periodic_local_connectivity_between_layers_trains(tmp_path) -> None:
    """A model with local_hidden: the grid is its first level's tanh layer, its cost is a bound that
    training lowers (as test_short_training_lowers_the_cost, with the locally connected layers)."""
    rng = np.random.default_rng(0)
    prototypes = rng.random((3, 64)) < 0.5
    data = (prototypes[rng.integers(0, 3, 600)] ^ (rng.random((600, 64)) < 0.05)).astype(np.uint8)
    model = DARN(DarnConfig(8, 8, latent=(4,), hidden=0, local_hidden=(3, 4, 2, 2)))
    assert model.encoder[0].inner.weight.shape == (4, 3, 16) and model.decoder[0].outer.weight.shape == (4, 1, 27)
    x = torch.tensor(data[500:], dtype=torch.float32)
    before = negative_elbo(model, x, samples=20).mean()
    train(model, data[:500], data[500:], TrainSettings(epochs=10, optimizer="adam", lr=3e-2, patience=100,
                                                       progress=False), tmp_path)
    assert negative_elbo(model, x, samples=20).mean() < before - 5.0
