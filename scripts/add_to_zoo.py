"""Embed a trained model in the package: copy it as darncodec/zoo/<name>-<hash8>.safetensors and
record it in darncodec/zoo/models.json (name, file, content hash, corpus, description, test bpp).

    python scripts/add_to_zoo.py NAME MODEL.safetensors --description "..." [--test-bpp KEY=VALUE ...]

The test bits per pixel are measured numbers passed in from the benchmark that produced them.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from darncodec.model.io import content_hash, load_tensors
from darncodec.zoo import ZOO_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("model", type=Path)
    parser.add_argument("--description", required=True)
    parser.add_argument("--test-bpp", action="append", default=[], help="KEY=VALUE, e.g. mnist_test=0.163")
    args = parser.parse_args()
    config, tensors = load_tensors(args.model)
    if "coding.prob_table" not in tensors:
        parser.error(f"{args.model} has no coding tables")
    digest = content_hash(config, tensors)
    listing = ZOO_DIR / "models.json"
    listed = json.loads(listing.read_text()) if listing.exists() else []
    models = [m for m in listed if m["name"] != args.name]
    file = f"{args.name}-{digest[:8]}.safetensors"
    for replaced in {m["file"] for m in listed if m["name"] == args.name} - {m["file"] for m in models} - {file}:
        (ZOO_DIR / replaced).unlink(missing_ok=True)      # the file of the model this name used to mean
    shutil.copyfile(args.model, ZOO_DIR / file)
    test_bpp = {k: float(v) for k, v in (item.split("=", 1) for item in args.test_bpp)}
    models.append({"name": args.name, "file": file, "hash": digest, "corpus": config.corpus,
                   "description": args.description, "test_bpp": test_bpp})
    listing.write_text(json.dumps(sorted(models, key=lambda m: m["name"]), indent=2) + "\n")
    print(f"{args.name}: {file} ({(ZOO_DIR / file).stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
