"""`darncodec models`, `eval` and `sample`: what the embedded models are and how good a model is."""

from __future__ import annotations

import json
import math

import click
import numpy as np

from darncodec.cli.main import main
from darncodec.cli.options import device_option
from darncodec.extras import require_torch


@main.command("models")
@click.option("--json", "as_json", is_flag=True)
def models_command(as_json) -> None:
    """List the embedded models: name, hash, tile size, training corpus, test bits per pixel."""
    from darncodec.zoo import DEFAULT_MODEL, entries

    rows = [{"name": e.name, "default": e.name == DEFAULT_MODEL, "hash": e.hash,
             "tile": f"{load_tile(e)}", "corpus": e.corpus, "test_bpp": e.test_bpp,
             "description": e.description} for e in entries()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        tests = ", ".join(f"{k} {v}" for k, v in row["test_bpp"].items())
        click.echo(f"{row['name']}{' (default)' if row['default'] else ''}  {row['hash'][:16]}  tile {row['tile']}  "
                   f"corpus {row['corpus']}  test bpp: {tests}\n    {row['description']}")


def load_tile(entry) -> str:
    from darncodec.zoo import load_model_file

    config = load_model_file(entry.name).config
    return f"{config.height}x{config.width}"


def _flat_examples(model_file, inputs, threshold):
    """(x, mask, names, pixels) for eval: every input image cut into the model's tiles."""
    from darncodec.coding.tiling import to_tiles
    from darncodec.imageio import load_inputs

    images = load_inputs(list(inputs), threshold)
    config = model_file.config
    tiles, masks, owner = [], [], []
    for i, (_, bits) in enumerate(images):
        t, m = to_tiles(bits, config.height, config.width)
        tiles.append(t)
        masks.append(m)
        owner.extend([i] * len(t))
    return (np.concatenate(tiles), np.concatenate(masks), np.array(owner), [n for n, _ in images],
            np.array([bits.size for _, bits in images]))


@main.command("eval")
@click.option("-m", "--model", default=None, help="Embedded model name or model file.")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--samples", default=100, show_default=True, help="Importance samples S per example (Eq. 16); 0 skips.")
@click.option("--repeats", default=10, show_default=True, help="Independent repeats of the importance estimate.")
@click.option("--elbo-samples", default=10, show_default=True, help="Draws of h for the -ELBO.")
@click.option("--exact/--no-exact", default=True, help="Exact -log p(x) when there are <= 16 stochastic units.")
@click.option("--threshold", type=float, default=None, help="Binarise grey input at T.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Per-example and mean results as JSON.")
@device_option
def eval_command(model, inputs, samples, repeats, elbo_samples, exact, threshold, seed, as_json, device) -> None:
    """-ELBO, importance-sampled and exact -log p(x) of INPUTS (images, folders, .npz), in nats and bits/pixel."""
    torch = require_torch("darncodec eval")

    from darncodec.coding.network.elbo import negative_elbo_bits
    from darncodec.coding.network.integer_model import IntegerDARN
    from darncodec.evaluation import (MAX_ENUMERATED_UNITS, Estimate, exact_nll, importance_sampled_nll,
                                      negative_elbo)
    from darncodec.model.io import build_float_model
    from darncodec.zoo import load_model_file

    file = load_model_file(model)
    net = build_float_model(file.config, file.tensors, file.source).to(device)
    x_np, mask_np, owner, names, pixels = _flat_examples(file, inputs, threshold)
    x = torch.as_tensor(x_np, dtype=torch.float32, device=device)
    mask = torch.as_tensor(mask_np, dtype=torch.float32, device=device)
    generator = torch.Generator(device=device).manual_seed(seed)

    def per_image(per_tile: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=per_tile, minlength=len(names))

    def per_image_estimate(estimate: Estimate) -> Estimate:
        return Estimate(np.stack([per_image(run) for run in estimate.runs]))

    columns = {"elbo_nats": per_image(negative_elbo(net, x, mask, elbo_samples, generator))}
    summary = {"elbo_nats": float(columns["elbo_nats"].mean())}
    if file.has_coding_tables:
        bits = negative_elbo_bits(IntegerDARN(file.config, file.tensors, device), x_np, mask_np,
                                  np.random.default_rng(seed), elbo_samples)
        columns["quantised_elbo_nats"] = per_image(bits) * math.log(2)
        summary["quantised_elbo_nats"] = float(columns["quantised_elbo_nats"].mean())
    if samples > 0:
        estimate = per_image_estimate(importance_sampled_nll(net, x, mask, samples, repeats, generator))
        columns["is_nll_nats"] = estimate.per_example
        summary.update(is_nll_nats=estimate.mean, is_ci95_nats=estimate.ci95, is_samples=samples, is_repeats=repeats)
    if exact and file.config.stochastic_units <= MAX_ENUMERATED_UNITS:
        columns["exact_nll_nats"] = per_image(exact_nll(net, x, mask).per_example)
        summary["exact_nll_nats"] = float(columns["exact_nll_nats"].mean())
    total_pixels = pixels.sum()
    for key in list(summary):
        if key.endswith("_nats") and not key.endswith("ci95_nats"):
            summary[key.replace("_nats", "_bpp")] = summary[key] * len(names) / math.log(2) / total_pixels
    result = {"model": file.source, "hash": file.hash, "examples": len(names), "pixels": int(total_pixels),
              "mean": summary}
    if as_json:
        result["per_example"] = [{"name": n, "pixels": int(p), **{k: float(v[i]) for k, v in columns.items()}}
                                 for i, (n, p) in enumerate(zip(names, pixels))]
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"{len(names)} examples, {total_pixels} pixels, model {file.hash[:16]}")
        for key, value in summary.items():
            click.echo(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")


@main.command("sample")
@click.option("-m", "--model", default=None, help="Embedded model name or model file.")
@click.option("-n", "count", default=64, show_default=True, type=click.IntRange(1, 10_000),
              help="How many tiles to draw (all at once).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Grid image to write.")
@click.option("--seed", default=0, show_default=True)
@click.option("-f", "--force", is_flag=True)
def sample_command(model, count, output, seed, force) -> None:
    """Draw ancestral samples (paper section 2.3) and write them as one grid image; a bar on
    stderr shows the units drawn so far."""
    torch = require_torch("darncodec sample")

    from darncodec.bench.runner import concat_tiles
    from darncodec.fileio import check_writable, write_atomically
    from darncodec.imageio import write_bilevel
    from darncodec.model.io import build_float_model
    from darncodec.zoo import load_model_file

    check_writable(output, force)
    file = load_model_file(model)
    net = build_float_model(file.config, file.tensors, file.source)
    draws = net.sample(count, torch.Generator().manual_seed(seed), progress=True).numpy().astype(np.uint8)
    tiles = draws.reshape(count, file.config.height, file.config.width)
    grid = concat_tiles([np.pad(t, ((0, 1), (0, 1))) for t in tiles])
    write_atomically(output, lambda tmp: write_bilevel(tmp, grid, output.rsplit(".", 1)[-1]))
    click.echo(f"wrote {count} samples to {output}")
