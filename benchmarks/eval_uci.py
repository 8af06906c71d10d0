"""Table 1 of the paper for the UCI models trained by benchmarks/train_uci.sh.

For each data set, the size is chosen by the validation -ELBO (paper section 5); the chosen model's
test -log p(x) is exact when it has at most 16 stochastic units (unless --no-exact: enumerating
65,536 states for each of adult's 26,147 test rows through a fully autoregressive visible layer
takes hours on two cores), otherwise importance-sampled (Eq. 16, S samples, 10 repeats, 95% interval).

    python benchmarks/eval_uci.py [--samples 1000] [--no-exact] [--json docs/results/uci.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from benchmarks.mnist_archive import emit
from darncodec.corpora import load_uci
from darncodec.evaluation import MAX_ENUMERATED_UNITS, exact_nll, importance_sampled_nll, negative_elbo
from darncodec.model.io import build_float_model, load_tensors

PAPER_DARN = {"adult": 13.19, "connect4": 11.91, "dna": 81.04, "mushrooms": 9.55, "nips": 274.68,
              "ocr_letters": 28.17, "rcv1": 46.10, "web": 28.83}


def evaluate(name: str, runs: Path, samples: int, exact: bool) -> dict:
    valid = torch.tensor(load_uci(name, "valid"), dtype=torch.float32)
    test = torch.tensor(load_uci(name, "test"), dtype=torch.float32)
    candidates = []
    for path in sorted(runs.glob(f"{name}-*.safetensors")):
        model = build_float_model(*load_tensors(path))
        score = negative_elbo(model, valid, samples=10, generator=torch.Generator().manual_seed(0)).mean()
        summary = json.loads((path.with_name(path.name + ".run") / "summary.json").read_text())
        candidates.append((score, path, model, summary))
    if not candidates:
        raise SystemExit(f"no trained models for {name} in {runs}")
    score, path, model, summary = min(candidates, key=lambda c: c[0])
    gen = torch.Generator().manual_seed(1)
    elbo = negative_elbo(model, test, samples=10, generator=gen).mean()
    if exact and model.config.stochastic_units <= MAX_ENUMERATED_UNITS:
        nll, ci, method = exact_nll(model, test).mean, 0.0, "exact"
    else:
        estimate = importance_sampled_nll(model, test, samples=samples, repeats=10, generator=gen)
        nll, ci, method = estimate.mean, estimate.ci95, f"importance sampling, S={samples}, 10 repeats"
    return {"dataset": name, "model": str(path), "hidden": model.config.hidden, "latent": list(model.config.latent),
            "valid_elbo_nats": float(score), "test_examples": len(test), "test_elbo_nats": float(elbo),
            "test_nll_nats": float(nll), "test_nll_ci95": float(ci), "method": method,
            "paper_darn_nll_nats": PAPER_DARN[name], "train_minutes": summary["wall_minutes"],
            "epochs": summary["epochs_run"], "device": summary["device"],
            "candidates": {str(c[1].name): float(c[0]) for c in candidates}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="adult,mushrooms,nips")
    parser.add_argument("--runs", default="runs/uci", type=Path)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--no-exact", dest="exact", action="store_false",
                        help="importance sampling even where enumeration is possible")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = [evaluate(name, args.runs, args.samples, args.exact) for name in args.sets.split(",")]
    emit(rows, args.json)


if __name__ == "__main__":
    main()
