"""`darncodec train`, `eval`, `sample` and `models` from the command line, on a tiny corpus."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from click.testing import CliRunner

from darncodec.cli.main import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    stripes = np.zeros((300, 6, 6), np.uint8)
    stripes[:, ::2] = 1
    data = np.where(rng.random((300, 1, 1)) < 0.5, stripes, 1 - stripes) ^ (rng.random((300, 6, 6)) < 0.03)
    np.savez(folder / "corpus.npz", images=data.astype(np.uint8))
    model = folder / "tiny.safetensors"
    result = CliRunner().invoke(main, ["train", "--corpus", str(folder / "corpus.npz"), "--tile", "6x6",
                                       "--latent", "4", "--hidden", "5", "--visible", "local", "--radius", "1",
                                       "--optimizer", "adam", "--lr", "0.03", "--epochs", "4", "-o", str(model)])
    assert result.exit_code == 0, result.output
    return folder, model, json.loads(result.output.strip().splitlines()[-1])


def test_train_writes_a_model_with_coding_tables_and_a_summary(trained) -> None:
    folder, model, summary = trained
    assert summary["hash"] and summary["epochs_run"] == 4 and summary["train_examples"] > 200
    assert (folder / "tiny.safetensors.run" / "summary.json").exists()
    again = CliRunner().invoke(main, ["train", "--corpus", str(folder / "corpus.npz"), "--tile", "6x6", "-o", str(model)])
    assert again.exit_code != 0 and "exists" in again.output


def test_train_init_fine_tunes_a_model_and_keeps_its_architecture(trained) -> None:
    folder, model, summary = trained
    tuned = folder / "tuned.safetensors"
    result = CliRunner().invoke(main, ["train", "--corpus", str(folder / "corpus.npz"), "--tile", "6x6", "--init",
                                       str(model), "--latent", "9", "--optimizer", "adam", "--lr", "0.01",
                                       "--epochs", "1", "-o", str(tuned)])
    assert result.exit_code == 0, result.output
    tuned_summary = json.loads(result.output.strip().splitlines()[-1])
    assert tuned_summary["best_valid_nats"] < summary["best_valid_nats"] + 1.0
    from darncodec.model.io import load_tensors

    assert load_tensors(tuned)[0].latent == (4,)
    wrong = CliRunner().invoke(main, ["train", "--corpus", str(folder / "corpus.npz"), "--tile", "4x4", "--init",
                                      str(model), "-o", str(folder / "wrong.safetensors")])
    assert wrong.exit_code != 0 and "6x6" in wrong.output


def test_train_init_adds_a_context_table_that_starts_at_zero(trained) -> None:
    """--init with --table grows the local visible layer by a zero table: the same probabilities at
    the start, then fine-tuned; a model that already has a table refuses another."""
    import torch

    from darncodec.model.io import build_float_model, load_tensors, with_context_table

    folder, model, _ = trained
    start = build_float_model(*load_tensors(model))
    grown = with_context_table(start, 3)
    x = torch.from_numpy((np.random.default_rng(2).random((5, 36)) < 0.5).astype(np.float32))
    assert torch.equal(grown.visible_logits(x, [torch.ones(5, 4)]), start.visible_logits(x, [torch.ones(5, 4)]))
    tabled = folder / "tabled.safetensors"
    args = ["train", "--corpus", str(folder / "corpus.npz"), "--tile", "6x6", "--init", str(model), "--table", "3",
            "--optimizer", "adam", "--lr", "0.01", "--epochs", "1", "-o", str(tabled)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert load_tensors(tabled)[0].table == 3
    again = CliRunner().invoke(main, [*args[:6], str(tabled), "--table", "2", "-o", str(folder / "twice.safetensors")])
    assert again.exit_code == 2 and "already has a context table" in again.output


@pytest.mark.parametrize("options", [["--table", "4"], ["--visible", "local", "--radius", "0"], ["--latent", "4,x"]])
def test_train_refuses_a_bad_architecture_in_one_line(trained, options) -> None:
    folder, _, _ = trained
    result = CliRunner().invoke(main, ["train", "--corpus", str(folder / "corpus.npz"), "--tile", "6x6",
                                       "-o", str(folder / "bad.safetensors"), *options])
    assert result.exit_code == 2 and "bad architecture" in result.output
    assert "Traceback" not in result.output and not (folder / "bad.safetensors").exists()


def _train(folder, name, *options):
    return CliRunner().invoke(main, ["train", "--corpus", str(folder / "corpus.npz"), "--tile", "6x6", "--latent", "4",
                                     "--hidden", "5", "--optimizer", "adam", "--lr", "0.03", "--epochs", "3",
                                     "-o", str(folder / name), *options])


def test_train_with_another_architecture_and_force_starts_afresh(trained) -> None:
    """Issue 16: the second run used to crash loading the first run's checkpoint into another DARN."""
    folder, _, _ = trained
    assert _train(folder, "rerun.safetensors").exit_code == 0
    again = _train(folder, "rerun.safetensors", "--latent", "6", "--hidden", "7", "-f")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output.strip().splitlines()[-1])
    assert summary["epochs_run"] == 3 and "Traceback" not in again.output
    from darncodec.model.io import load_tensors

    assert load_tensors(folder / "rerun.safetensors")[0].latent == (6,)


def test_an_interrupted_run_continues_with_resume_to_the_uninterrupted_result(trained, monkeypatch) -> None:
    """Interrupted in its second epoch, the run prints the command that continues it; that command
    (with --resume) ends with the model an uninterrupted run with the same seed ends with; another
    architecture in the same run folder is refused in one line, with or without --resume."""
    from darncodec.training import trainer

    folder, _, _ = trained
    whole = _train(folder, "whole.safetensors")
    assert whole.exit_code == 0, whole.output
    validations = []

    def interrupt_in_second_epoch(*args, **kwargs):
        validations.append(1)
        if len(validations) == 2:
            raise KeyboardInterrupt
        return mean_cost(*args, **kwargs)

    mean_cost = trainer.mean_cost
    with monkeypatch.context() as patch:
        patch.setattr(trainer, "mean_cost", interrupt_in_second_epoch)
        stopped = _train(folder, "parts.safetensors")
    assert stopped.exit_code == 130 and not (folder / "parts.safetensors").exists()
    message = stopped.output.strip().splitlines()[-1]
    assert "interrupted" in message and message.endswith("--resume")
    words = shlex.split(message.split("to continue it: ", 1)[1])
    assert words[:2] == ["darncodec", "train"]
    for options in ([], ["--resume"]):
        other = _train(folder, "parts.safetensors", "--latent", "6", *options)
        assert other.exit_code == 1 and other.output.count("\n") == 1, other.output
        assert "latent was [4], now [6]" in other.output and "-f starts afresh" in other.output
    plain = _train(folder, "parts.safetensors")
    assert plain.exit_code == 1 and "--resume continues it" in plain.output
    resumed = CliRunner().invoke(main, words[1:])
    assert resumed.exit_code == 0, resumed.output
    results = [json.loads(r.output.strip().splitlines()[-1]) for r in (whole, resumed)]
    assert results[0]["hash"] == results[1]["hash"] and results[1]["epochs_run"] == 3


def test_eval_reports_elbo_importance_sampling_and_exact_likelihood(trained) -> None:
    folder, model, _ = trained
    result = CliRunner().invoke(main, ["eval", "-m", str(model), f"{folder / 'corpus.npz'}:images",
                                       "--samples", "50", "--repeats", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    mean = report["mean"]
    assert report["examples"] == 300 and len(report["per_example"]) == 300
    for key in ("elbo_nats", "quantised_elbo_nats", "is_nll_nats", "is_ci95_nats", "exact_nll_nats", "elbo_bpp"):
        assert key in mean
    assert mean["exact_nll_nats"] <= mean["elbo_nats"] + 0.05
    assert abs(mean["is_nll_nats"] - mean["exact_nll_nats"]) < 0.5
    assert abs(mean["quantised_elbo_nats"] - mean["elbo_nats"]) < 0.02 * mean["elbo_nats"]


def test_eval_rejects_bad_inputs_with_one_line(trained, tmp_path) -> None:
    _, model, _ = trained
    grey = tmp_path / "grey.npz"
    np.savez(grey, images=np.full((2, 6, 6), 7, np.uint8))
    for args in (["eval", "-m", str(model), str(tmp_path / "missing.png")],
                 ["eval", "-m", str(model), str(grey)],
                 ["eval", "-m", str(tmp_path / "nomodel.safetensors"), str(grey)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and result.output.count("\n") == 1 and "error" in result.output


def test_sample_writes_a_grid(trained, tmp_path) -> None:
    _, model, _ = trained
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(main, ["sample", "-m", str(model), "-n", "9", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "sampling" in result.stderr and "sampling" not in result.stdout      # the progress bar
    from darncodec.imageio import read_bilevel

    (_, grid), = read_bilevel(out)
    assert grid.shape == (21, 21)


def test_models_lists_the_embedded_models() -> None:
    result = CliRunner().invoke(main, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert all({"name", "hash", "tile", "corpus", "test_bpp"} <= set(row) for row in rows)
