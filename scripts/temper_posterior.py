"""Temper a trained model's q(h|x) for importance sampling: scale the logits of q by alpha (below 1, a
broader proposal), evaluate the S-sample importance-weighted bound (Eq. 16 with S samples: what
coding with S particles pays) on the model corpus's held-out split for each alpha, and with --write
save the model at the chosen alpha, quantised for coding.

A q trained on the ELBO (Eq. 7) is narrower than p(h|x) (the KL(q||p) it minimises punishes mass
where p has none, not mass it misses); importance sampling loses most where q misses part of p(h|x),
so a slightly broader q tightens the S-sample bound for S > 1 and loosens the ELBO (S = 1) a little.

    python scripts/temper_posterior.py MODEL [--alphas 0.85,0.9,0.95,1] [--samples 16,64] [--seed 1]
                                       [--write ALPHA OUT]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from darncodec.coding.network.quantize import quantize_and_save
from darncodec.evaluation import importance_sampled_nll
from darncodec.model.io import FLOAT_PREFIX, build_float_model, load_tensors, save_model
from darncodec.training.datasets import load_training_corpus


def tempered(tensors: dict[str, np.ndarray], alpha: float) -> dict[str, np.ndarray]:
    """The float tensors with every layer of q's logits (encoder.L.outer) scaled by ``alpha``."""
    out = {k: v for k, v in tensors.items() if k.startswith(FLOAT_PREFIX)}
    for name in out:
        if name.startswith(f"{FLOAT_PREFIX}encoder.") and ".outer." in name:
            out[name] = out[name] * np.float32(alpha)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--alphas", default="0.85,0.9,0.95,1")
    parser.add_argument("--samples", default="16,64")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", nargs=2, metavar=("ALPHA", "OUT"))
    args = parser.parse_args()
    config, tensors = load_tensors(args.model)
    if config.encoder_autoregressive:
        parser.error("an autoregressive q is not a product of Bernoullis: its logits cannot be tempered this way")
    _, held_out, _ = load_training_corpus(config.corpus)
    x = torch.from_numpy(held_out.astype(np.float32))
    for alpha in (float(a) for a in args.alphas.split(",")):
        model = build_float_model(config, tempered(tensors, alpha), args.model).eval()
        row = {"alpha": alpha}
        for samples in (int(s) for s in args.samples.split(",")):
            generator = torch.Generator().manual_seed(args.seed)
            row[f"S={samples}"] = importance_sampled_nll(model, x, samples=samples, repeats=1,
                                                         generator=generator).mean
        print(json.dumps(row))
    if args.write:
        alpha, out = float(args.write[0]), args.write[1]
        save_model(out, config, tempered(tensors, alpha))
        print(f"{out}: q tempered by {alpha}, hash {quantize_and_save(out, out)}")


if __name__ == "__main__":
    main()
