"""Issue 14: the fDARN of section 2.3 beside the dense DARN. For a model that samples sparsely (one
stochastic layer, a linear decoder, a factorised visible layer; trained with `darncodec train
--sparsity`): its -ELBO and importance-sampled -log p on the 10,000 binarised MNIST test digits
(reported, never trained or tuned on), the mean activity of its units, and tiles sampled per second
with fDARN's sampler (DARN.sample_sparse) and with the dense ancestral sampler on the same model,
with the additions per tile the sparse one makes (the paper counts 2.4e4 multiplications a sample)
against the multiply-adds of the dense one, for batches of each of ``--batches`` tiles (both loop over
the units in Python, so small batches show the work a tile takes, large ones torch's batching).
``--dense MODEL`` adds the sampling speed of another model (the shipped `mnist`, say).

    python -m benchmarks.fdarn MODEL [--dense mnist] [--batches 1 256] [--json FILE]
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.mnist_archive import emit, machine
from darncodec.corpora import load_binarized_mnist
from darncodec.evaluation import importance_sampled_nll, negative_elbo
from darncodec.model.io import build_float_model
from darncodec.zoo import load_model_file


def per_second(draw, n: int) -> float:
    draw()   # the first call pays for allocations
    start = time.perf_counter()
    draw()
    return round(n / (time.perf_counter() - start), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--dense", default=None, help="another model whose (dense) sampling speed is shown beside")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 256], help="tiles drawn at once")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    file = load_model_file(args.model)
    model = build_float_model(file.config, file.tensors).eval()
    x = torch.as_tensor(load_binarized_mnist("test"), dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        activity = float(torch.sigmoid(model.encoder[0](x)).mean())
    report = {"machine": machine() + ", one torch thread", "model": file.source, "hash": file.hash,
              "config": file.config.to_json(), "test_digits": len(x),
              "elbo_nats": round(float(negative_elbo(model, x, samples=10, generator=generator).mean()), 3),
              "importance_sampled_nll_nats": round(importance_sampled_nll(model, x, samples=1000, repeats=1,
                                                                          generator=generator).mean, 3),
              "mean_activity_under_q": round(activity, 4)}
    units, pixels = file.config.latent[0], file.config.pixels
    additions = float(model.sample_sparse(1000, generator)[3].mean())
    report["sparse_additions_per_tile"] = round(additions, 1)
    report["active_units_per_tile"] = round(additions / (units + pixels), 2)
    report["dense_multiply_adds_per_tile"] = units * (units - 1) // 2 + units * pixels
    report["tiles_per_second"] = {}
    for n in args.batches:
        speeds = {"sparse": per_second(lambda: model.sample(n, generator, sparse=True), n),
                  "dense": per_second(lambda: model.sample(n, generator, sparse=False), n)}
        if args.dense:
            other = load_model_file(args.dense)
            dense = build_float_model(other.config, other.tensors).eval()
            speeds[f"dense {args.dense}"] = per_second(lambda: dense.sample(n, generator), n)
        report["tiles_per_second"][f"batch {n}"] = speeds
    emit(report, args.json)


if __name__ == "__main__":
    main()
