"""`darncodec train`: fit a DARN to a corpus by MDL and write a model file (with coding tables)."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from darncodec.cli.main import main
from darncodec.cli.options import device_option, parse_tile
from darncodec.extras import require_torch
from darncodec.model.config import VISIBLE_KINDS, DarnConfig

if TYPE_CHECKING:
    from darncodec.model.darn import DARN


@main.command("train")
@click.option("--corpus", required=True,
              help="binarized_mnist, binarized_mnist+valid, mnist, uci/NAME, documents, glyphs, glyphs:PATHS, or image files/folders/.npz (comma-separated).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Model file to write.")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="Checkpoints go here; an interrupted run resumes from them. Default: OUTPUT.run/")
@click.option("--init", "init_model", default=None,
              help="Start from this model's weights (NAME or PATH; fine-tuning): its architecture is used "
                   "and the architecture options are ignored, except --table, which adds a context table "
                   "to a model that has none.")
@click.option("--tile", default=None, help="Tile size HxW for image corpora (e.g. 32x32).")
@click.option("--threshold", type=float, default=None, help="Binarise grey images of an image corpus at T.")
@click.option("--max-tiles", type=int, default=None, help="Use at most this many tiles of an image corpus.")
@click.option("--latent", default="16", show_default=True, help="Stochastic layer sizes, bottom first: 500 or 80,80,80.")
@click.option("--hidden", default=100, show_default=True, help="tanh units between layers (0: linear).")
@click.option("--visible", type=click.Choice(VISIBLE_KINDS), default="factorised", show_default=True)
@click.option("--radius", default=0, show_default=True, help="Neighbourhood radius of a local visible layer.")
@click.option("--shared/--no-shared", default=False, help="Local visible weights shared over positions.")
@click.option("--period", default=0, show_default=True,
              help="Local visible weights shared periodically: positions equal modulo PERIOD share a kernel "
                   "(periodic local connectivity, section 2.2); 0: a kernel per position (or --shared).")
@click.option("--local-hidden", default=None, metavar="F,K,S,P",
              help="Periodic local connectivity between the pixels and the first stochastic layer (section 2.2, "
                   "the paper's Atari model): the first tanh layer is a grid of F filters at stride S, each "
                   "seeing a KxK window, weights shared between positions equal modulo P (e.g. 16,8,4,8).")
@click.option("--table", default=0, show_default=True,
              help="Local visible layer: a learned logit per pattern of the N nearest causal neighbours.")
@click.option("--encoder-ar/--no-encoder-ar", default=False, help="Autoregressive encoder q(H1|X).")
@click.option("--skip/--no-skip", default=False, help="Skip connections from all layers above.")
@click.option("--sparsity", default=0.0, show_default=True,
              help="fDARN (section 2.3): keep the mean activity of the stochastic units near this fraction "
                   "(e.g. 0.05 with --hidden 0 --visible factorised; sampling then skips inactive units).")
@click.option("--optimizer", type=click.Choice(["rmsprop", "adam"]), default="rmsprop", show_default=True)
@click.option("--lr", default=3e-4, show_default=True)
@click.option("--lr-decay", default=1.0, show_default=True, help="Per-epoch learning-rate factor.")
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(min=1),
              help="Examples per step, over all processes together under torchrun.")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(1, 1024),
              help="Importance samples per example: minimise the S-sample importance-weighted bound (IWAE), "
                   "what coding with S particles pays; 1 is the -ELBO.")
@click.option("--ema", default=0.0, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="Validate and keep an exponential moving average of the weights with this decay per step "
                   "(e.g. 0.999); 0: the weights as trained.")
@click.option("--patience", default=10, show_default=True, type=click.IntRange(min=1),
              help="Early stopping on the validation cost.")
@click.option("--max-minutes", default=float("inf"), help="Stop after this much training time.")
@click.option("--seed", default=0, show_default=True)
@click.option("--threads", default=None, type=int, help="torch CPU threads.")
@device_option
@click.option("--resume", is_flag=True,
              help="Continue the run in the run folder (what an interrupted run prints); it must be a run of "
                   "the same architecture, corpus and training settings.")
@click.option("-f", "--force", is_flag=True,
              help="Overwrite OUTPUT and start afresh, replacing what the run folder holds; with --resume, "
                   "only overwrite OUTPUT.")
@click.pass_context
def train_command(ctx, corpus, output, run_dir, init_model, tile, threshold, max_tiles, latent, hidden, visible, radius,
                  shared, period, local_hidden, table, encoder_ar, skip, sparsity, optimizer, lr, lr_decay, epochs, batch_size, samples, ema, patience, max_minutes,
                  seed, threads, device, resume, force) -> None:
    """Train a DARN on CORPUS by minimising its -ELBO (paper section 4) or, with --samples S, its S-sample
    importance-weighted bound, on one process or, under
    `torchrun --nproc-per-node N`, on N processes (DistributedDataParallel; docs/models.md)."""
    torch = require_torch("darncodec train")  # here, not at the top: the coding commands do without it

    from darncodec.coding.network.quantize import quantize_and_save
    from darncodec.training.checkpoint import open_run, recipe
    from darncodec.training.datasets import load_training_corpus
    from darncodec.training.distributed import join, leave
    from darncodec.training.trainer import TrainSettings, train

    output = Path(output)
    run_dir = Path(run_dir) if run_dir else output.with_name(output.name + ".run")
    with join(device) as team:
        def check_output() -> None:
            if output.exists() and not force:
                raise click.UsageError(f"{output} exists; use --force to overwrite it")

        team.agree(check_output)
        if threads:
            torch.set_num_threads(threads)
        train_data, valid_data, (height, width) = load_training_corpus(corpus, parse_tile(tile), seed, threshold,
                                                                       max_tiles)
        torch.manual_seed(seed)  # the initial weights follow from the seed
        model, init_hash = _starting_model(init_model, corpus, (height, width), latent, hidden, visible, radius,
                                           shared, period, local_hidden, table, encoder_ar, skip, sparsity)
        settings = TrainSettings(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr,
                                 lr_decay=lr_decay, patience=patience, seed=seed, device=str(team.device),
                                 max_minutes=max_minutes, samples=samples, ema=ema)
        wanted = recipe(model.config, {"threshold": threshold, "max_tiles": max_tiles, "init": init_hash},
                        settings.recipe())
        start = team.agree(lambda: open_run(run_dir, wanted, resume, force))
        try:
            result = train(model, train_data, valid_data, settings, run_dir, wanted, start, team)
        except KeyboardInterrupt:
            if team.leader:
                click.echo(f"darncodec: interrupted; {_how_to_continue(ctx, run_dir)}", err=True)
            sys.exit(130)
    if not team.leader:
        leave(team)
        return
    model_hash = quantize_and_save(run_dir / "best.safetensors", output)
    summary = {"model": str(output), "hash": model_hash, "best_valid_nats": result.best_valid_nats,
               "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
               "wall_minutes": round(result.wall_seconds / 60, 2), "device": result.device,
               "processes": team.size, "train_examples": len(train_data), "valid_examples": len(valid_data)}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    click.echo(json.dumps(summary))
    leave(team)


def _starting_model(init_model, corpus, tile, latent, hidden, visible, radius, shared, period, local_hidden, table,
                    encoder_ar, skip, sparsity) -> tuple[DARN, str | None]:
    """The model to train (a new one, or ``init_model``'s weights) and the hash of the model it starts from."""
    from darncodec.model.darn import DARN
    from darncodec.model.io import build_float_model, with_context_table
    from darncodec.zoo import load_model_file

    if not init_model:
        try:
            config = DarnConfig(*tile, latent=tuple(int(n) for n in latent.split(",")), hidden=hidden,
                                visible=visible, radius=radius, shared=shared, period=period, table=table,
                                encoder_autoregressive=encoder_ar, skip=skip, sparsity=sparsity, corpus=corpus,
                                local_hidden=tuple(int(n) for n in local_hidden.split(",")) if local_hidden else ())
        except ValueError as err:
            raise click.UsageError(f"bad architecture: {err}") from None
        return DARN(config), None
    start = load_model_file(init_model)
    if (start.config.height, start.config.width) != tile:
        raise click.UsageError(f"--init {init_model} has {start.config.height}x{start.config.width} tiles, "
                               f"the corpus {tile[0]}x{tile[1]}")
    model = build_float_model(replace(start.config, corpus=corpus), start.tensors)
    if table and table != model.config.table:
        if model.config.table:
            raise click.UsageError(f"--init {init_model} already has a context table of {model.config.table} pixels")
        try:
            model = with_context_table(model, table)
        except ValueError as err:
            raise click.UsageError(f"bad architecture: {err}") from None
    return model, start.hash


def _how_to_continue(ctx: click.Context, run_dir: Path) -> str:
    """What an interrupted run says: the command that continues it (the options given on this one's
    command line, and --resume), or that nothing was saved yet."""
    from darncodec.training.checkpoint import CHECKPOINT

    if not (run_dir / CHECKPOINT).exists():
        return f"no epoch had finished, {run_dir} holds nothing to resume"
    words = ["darncodec", "train"]
    for param in ctx.command.params:
        value = ctx.params[param.name]
        given = ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE
        if not isinstance(param, click.Option) or param.name == "resume" or not given:
            continue
        if param.is_flag:
            words.append(param.opts[-1] if value else param.secondary_opts[-1])
        else:
            words += [max(param.opts, key=len), str(value)]
    return f"{run_dir} holds the run up to its last finished epoch; to continue it: {shlex.join(words + ['--resume'])}"
