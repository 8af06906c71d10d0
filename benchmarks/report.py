"""Write docs/results.md from the JSON files in docs/results/ (every number there comes from one of
them; the command that made each file is printed beside its table).

    python benchmarks/report.py
"""

from __future__ import annotations

import json
from pathlib import Path

from darncodec.bench.runner import read_json
from darncodec.bench.summary import markdown_table, reference_row
from darncodec.zoo import entries

RESULTS = Path("docs/results")
MNIST_BENCH = ("darncodec bench ../shared/data/binarized_mnist/binarized_mnist.npz:test --model mnist --concat "
               "--json docs/results/bench_mnist.json --plot docs/results/bench_mnist.png")
CCITT_BENCH = ("darncodec bench ../shared/data/bilevel_docs/ccitt/ --json docs/results/bench_ccitt.json "
               "--plot docs/results/bench_ccitt.png")
PAPER_TABLE2 = {"DARN n_h=500 (paper)": (84.71, 90.31), "DARN n_h=500, adaNoise (paper)": (84.13, 88.30),
                "DARN n_h=16, adaNoise (paper)": (122.80, 130.94)}


def zoo_name(path: str) -> str:
    """The embedded model's name today for a file ``<name>-<hash prefix>.safetensors`` (names move on
    when a newer model takes one; the hash does not)."""
    prefix = Path(path).stem.rsplit("-", 1)[-1]
    return next((entry.name for entry in entries() if entry.hash.startswith(prefix)), Path(path).name)


def load(name: str):
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def bench_section(heading: str, name: str, command: str, how: str) -> list[str]:
    """A heading, the codec table of a saved bench run (`darncodec bench --markdown`'s), its command, its plot."""
    result = read_json(RESULTS / name)
    plot = f"{name.removesuffix('.json')}.png"
    return [heading, "", markdown_table(result, reference_row(result)), "", f"Command: `{command}`{how} "
            f"Sizes are compared with the classic codec with the fewest bytes; MP/s: megapixels of input per "
            f"second, wall time as measured when the JSON was made (on the 2-core machine, shared with other jobs: "
            f"indicative, not precise). The table is `darncodec bench --from-json docs/results/{name} --markdown`; the plot "
            f"(bits per pixel against speed, Pareto front in red; bytes relative to the same codec) is "
            f"`darncodec bench --from-json docs/results/{name} --plot docs/results/{plot}`.", "",
            f"![{heading.lstrip('# ')}](results/{plot})", ""]


def per_page_table(result: dict) -> list[str]:
    """Bytes per image (rows) and codec (columns), from a bench run's ``per_image`` rows."""
    codecs = [row["codec"] for row in sorted(result["codecs"], key=lambda r: r["bytes"])]
    pages: dict[str, dict[str, int]] = {}
    for row in result["per_image"]:
        pages.setdefault(Path(row["image"]).name, {})[row["codec"]] = row["bytes"]
    lines = ["", "Per page, bytes (darncodec: each page compressed alone, a .darn file of its own):", "", "| page | " + " | ".join(codecs) + " |", "|---" * (len(codecs) + 1) + "|"]
    for page, sizes in pages.items():
        lines.append(f"| {page} | " + " | ".join(f"{sizes[c]:,}" if c in sizes else "—" for c in codecs) + " |")
    return lines


def main() -> None:
    out = ["# Results", "",
           "Every number below is in a JSON file in `docs/results/`, written by the command shown with it;",
           "this page is generated from those files by `python benchmarks/report.py`. Machine for all of them:",
           "the project's 2-core x86_64 CPU machine (no GPU), torch 2.13.0 CPU. No test split was used for",
           "training or for choosing anything (MNIST test and the CCITT pages are reported on only).", ""]
    archive = load("mnist_archive.json")
    evaluation = load("mnist_eval.json")            # mnist-v2, which was called mnist then
    latest = load("mnist_v3_eval_s1000.json")
    first = load("mnist_v1_eval.json")
    small = load("mnist16_eval.json")
    training = {name: f"{t['wall_minutes']:.0f} min, {t['epochs_run']} epochs, {t['device']}"
                for name, t in (("mnist-v1", load("train_mnist_v1.json")), ("mnist16", load("train_mnist16.json"))) if t}
    tuned = load("train_mnist_table.json")
    if tuned and "mnist-v1" in training:
        training["mnist-v2"] = (f"mnist-v1 ({training['mnist-v1']}) then {tuned['wall_minutes']:.0f} min, "
                                f"{tuned['epochs_run']} epochs with the table, {tuned['device']}")
    more = load("train_mnist_v3.json")
    if more and "mnist-v2" in training:
        training["mnist"] = (f"mnist-v2 then {more['wall_minutes']:.0f} min, {more['epochs_run']} epochs on "
                             f"{more['train_examples']:,} digits (train + valid after the first 2,000), q tempered")
    out += ["## Binarised MNIST: the model (issue 2)", "",
            "Static binarised MNIST, 10,000 test digits, nats per digit. The bound is the −ELBO (expected",
            "description length); −log p is importance-sampled (Eq. 16) or exact (enumeration, ≤ 16 units).", "",
            "| model | −log p (nats) | bound (nats) | bound (bits/pixel) | training |", "|---|---|---|---|---|"]
    for name, (nll, bound) in PAPER_TABLE2.items():
        out.append(f"| {name} | {nll} | {bound} | {bound / 784 / 0.6931471805599453:.4f} | — |")
    for label, result, key in (("darncodec `mnist` (`mnist-v2` with more digits, q tempered)", latest, "mnist"),
                               ("darncodec `mnist-v2` (200 units, local visible + 16-pixel context table)", evaluation,
                                "mnist-v2"),
                               ("darncodec `mnist-v1` (200 units, local visible)", first, "mnist-v1"),
                               ("darncodec `mnist16` (16 units, factorised visible)", small, "mnist16")):
        if not result:
            continue
        mean = result["mean"]
        if "exact_nll_nats" in mean:
            nll = f"{mean['exact_nll_nats']:.2f} (exact)"
        else:
            nll = f"{mean['is_nll_nats']:.2f} ± {mean['is_ci95_nats']:.3f} (IS, S={mean['is_samples']}, {mean['is_repeats']} repeats)"
        out.append(f"| {label} | {nll} | {mean['elbo_nats']:.2f} | {mean['elbo_bpp']:.4f} | {training.get(key, '')} |")
    out += ["", "Commands: `darncodec eval -m mnist ../shared/data/binarized_mnist/binarized_mnist.npz:test "
            "--samples 100 --repeats 10 --json` (and `-m mnist-v1`, `-m mnist16`; 8 minutes for `mnist-v2`, then called "
            "`mnist`); the JSON `mean` block is kept in `mnist_eval.json` / `mnist_v1_eval.json` / `mnist16_eval.json`; "
            "`mnist`'s row is its S = 1000 run below. Training "
            "commands and times: [models.md](models.md).", ""]
    for name, file, minutes in (("mnist", "mnist_v3_eval_s1000.json", "{minutes}"),
                                ("mnist-v2", "mnist_eval_s1000.json", "{minutes}"), ("mnist-v1", "mnist_v1_eval_s1000.json", "19")):
        larger = load(file)
        if larger:
            mean = larger["mean"]
            minutes = minutes.format(minutes=larger.get("wall_minutes", "?"))
            out += [f"With more importance samples, `{name}`: −log p ≈ {mean['is_nll_nats']:.3f} ± {mean['is_ci95_nats']:.3f} nats "
                    f"(S={mean['is_samples']}, {mean['is_repeats']} repeats; `darncodec eval -m {name} "
                    f"../shared/data/binarized_mnist/binarized_mnist.npz:test --samples 1000 --repeats {mean['is_repeats']} "
                    f"--elbo-samples 1 --json`, `mean` block in `{file}`, {minutes} minutes on one core).", ""]
    if evaluation and "quantised_elbo_nats" in evaluation["mean"]:
        mean = evaluation["mean"]
        out += [f"Quantised (integer) `mnist-v2` model: −ELBO {mean['quantised_elbo_nats']:.3f} nats per digit vs "
                f"{mean['elbo_nats']:.3f} for the float model.", ""]
    uci = load("uci.json")
    if uci:
        out += ["## UCI binary sets, paper Table 1 (issue 2)", "",
                "Architecture of section 5.1: a tanh layer, a stochastic layer with an autoregressive prior, "
                "p(X|H) with autoregressive connections; size chosen on the validation −ELBO between "
                "(tanh 100, 16 units) and (tanh 300, 64 units). Nats per test example.", "",
                "| set | test examples | chosen | test −log p | method | test −ELBO | paper DARN −log p | training |",
                "|---|---|---|---|---|---|---|---|"]
        for row in uci:
            ci = f" ± {row['test_nll_ci95']:.3f}" if row["test_nll_ci95"] else ""
            out.append(f"| {row['dataset']} | {row['test_examples']} | tanh {row['hidden']}, {row['latent'][0]} units | "
                       f"{row['test_nll_nats']:.2f}{ci} | {row['method']} | {row['test_elbo_nats']:.2f} | "
                       f"{row['paper_darn_nll_nats']} | {row['train_minutes']:.1f} min, {row['epochs']} epochs, {row['device']} |")
        out += ["", "Commands: `bash benchmarks/train_uci.sh` then "
                "`python benchmarks/eval_uci.py --samples 100 --no-exact --json docs/results/uci.json` (importance "
                "sampling also for the 16-unit models: exact enumeration over adult's 26,147 test rows takes hours here). The adult test split "
                "is Larochelle's a5a test file; mushrooms and nips test splits are DEBD's (NADE's sizes).", ""]
    if archive:
        a = archive
        out += ["## Binarised MNIST: the codec (issue 3)", "",
                f"The {a['digits']:,} test digits as one archive with `{zoo_name(a['model'])}`, static coding "
                f"(`compress --static`: the model's probabilities alone, so the file should match its −ELBO; "
                f"round trip exact: {a['round_trip_exact']}).", "",
                "| quantity | value |", "|---|---|",
                f"| whole file | {a['file_bytes']:,} bytes, {a['file_bpp']:.4f} bits/pixel |",
                f"| payload (ANS words) | {a['payload_bytes']:,} bytes, {a['payload_bpp']:.4f} bits/pixel |",
                f"| quantised model's −ELBO, summed ({a['elbo_samples']} draws of h per digit) | "
                f"{a['quantised_elbo_bits']:,.0f} bits, {a['quantised_elbo_nats_per_digit']:.3f} nats/digit |",
                f"| payload bits ÷ quantised −ELBO | {a['payload_over_quantised_elbo']:.4f} |",
                f"| float model's −ELBO | {a['float_elbo_bits']:,.0f} bits, {a['float_elbo_nats_per_digit']:.3f} nats/digit |",
                f"| quantised ÷ float −ELBO | {a['quantised_over_float_elbo']:.5f} |",
                f"| compress | {a['compress_seconds']:.2f} s, {a['compress_mpixels_per_s']:.2f} megapixels/s |",
                f"| decompress | {a['decompress_seconds']:.2f} s, {a['decompress_mpixels_per_s']:.2f} megapixels/s |",
                "", "One digit alone (`test/0`):", "",
                f"- whole file {a['one_digit']['file_bytes']} bytes = fixed header {a['one_digit']['fixed_header_bytes']} "
                f"(of which 32 model hash) + image table {a['one_digit']['image_table_bytes']} + trailer "
                f"{a['one_digit']['trailer_bytes']} (payload length, three CRC-32s) + payload {a['one_digit']['payload_bytes']};",
                f"- the payload codes {a['one_digit']['coded_cost_bits']} bits: the first tile of a file gets no bits "
                f"back (h is the mode of q and is paid in full), against {a['quantised_elbo_bits'] / a['digits']:.1f} "
                "bits (the mean −ELBO) for a digit inside an archive.",
                "", f"Command: `python -m benchmarks.mnist_archive --model {zoo_name(a['model'])} --coding static --json "
                f"docs/results/mnist_archive.json` ({a['machine']}).", ""]
    mixed = load("mnist_archive_adaptive.json")
    if mixed:
        m = mixed
        out += [f"With adaptive coding (`compress --adaptive`; on digits the default is the DARN alone, with particles: below): {m['file_bytes']:,} bytes "
                f"({m['file_bpp']:.4f} bits/pixel; payload ÷ the model's −ELBO {m['payload_over_quantised_elbo']:.4f}), "
                f"compress {m['compress_seconds']:.2f} s, decompress {m['decompress_seconds']:.2f} s, round trip "
                f"exact: {m['round_trip_exact']}. Command: `python -m benchmarks.mnist_archive --model {zoo_name(m['model'])} "
                "--coding adaptive --json docs/results/mnist_archive_adaptive.json`.", ""]
    out += particles_section("mnist", load("particles_10000_v3.json"), load("particles_10000_v3_s256.json"),
                             load("particles_1000_v3.json"), latest, "_v3")
    out += particles_section("mnist-v2", load("particles_10000.json"), load("particles_10000_s64.json"),
                             load("particles_1000.json"), load("mnist_eval_s1000.json"), "")
    bench = load("bench_mnist.json")
    if bench:
        out += bench_section("### Against the classic codecs (the same 10,000 digits tiled into one 2800×2800 image)",
                             "bench_mnist.json", MNIST_BENCH, ". darncodec codes the digits as one 10,000-image "
                             "archive; the baselines code the tiled image.")
    for name, label, option in (("page_speed.json", "CCITT 1", ""),
                                ("page_speed_ccitt7.json", "CCITT 7, the densest page",
                                 " --page ../shared/data/bilevel_docs/ccitt/ccitt7.pbm")):
        page = load(name)
        if page:
            runs = len(page["compress_runs"])
            out += [f"### One 1728×2376 page ({label}) with the default model (`docs`)", "",
                    f"Model `{Path(page['model']).name}`, default coding: {page['bytes']:,} bytes (a version-1 "
                    "archive written in Python), "
                    f"compress {page['compress_seconds']:.2f} s ({page['compress_mpixels_per_s']:.2f} MP/s), "
                    f"decompress {page['decompress_seconds']:.2f} s ({page['decompress_mpixels_per_s']:.2f} MP/s), "
                    f"{'medians of ' + str(runs) + ' runs' if runs > 1 else 'one run'}, "
                    f"exact: {page['round_trip_exact']}, after loading the compiled kernels once (the first run after "
                    f"installing compiles them, a few seconds). Command: `python -m benchmarks.page_speed{option} "
                    f"{'--repeats ' + str(runs) + ' ' if runs > 1 else ''}--json docs/results/{name}`. Whole "
                    "processes as a user runs them: [symbols.md](symbols.md), *Speed, without numba's reference "
                    "counting*.", ""]
    ccitt = load("bench_ccitt.json")
    strokes = load("strokes_ccitt_cli.json")
    if ccitt:
        section = bench_section("## CCITT fax pages 1–8 (issues 4 and 5)", "bench_ccitt.json", CCITT_BENCH,
                                " (darncodec with the default model, `docs`, and the default coding: coder 7 on "
                                "these pages; the eight pages are one archive, a segment each).")
        if strokes:
            section[2:2] = [f"**Since session 10 (issue 11)** the default page coder for scans is coder 7 (stroke "
                            f"contexts). One `darncodec compress` per page, the eight pages take "
                            f"**{strokes['coder7']:,}** bytes ({strokes['coder3']:,} with coder 3; paq8px -8 159,232; "
                            "DjVu 170,844), per page in [symbols.md](symbols.md), *Stroke contexts* (`python -m "
                            "benchmarks.strokes --set ccitt --cli --json docs/results/strokes_ccitt_cli.json`). The "
                            "bench below codes them with the same default.", ""]
        out += section
        wrong = load("bench_ccitt_mnist_model.json")
        if wrong:
            row = wrong["codecs"][0]
            out += [f"With the MNIST model `mnist-v1` instead, static coding (made before adaptive coding existed: "
                    f"`darncodec bench ../shared/data/bilevel_docs/ccitt/ --model mnist-v1 --codecs darncodec --json "
                    f"docs/results/bench_ccitt_mnist_model.json`): {row['bytes']:,} bytes, "
                    f"{row['bits_per_pixel']:.3f} bits/pixel, more than raw: a model only codes well what it was "
                    "trained on.", ""]
        out += per_page_table(ccitt)
        out += [""]
    gain = load("adaptive_gain.json")
    if gain:
        out += ["### Static and adaptive coding on non-test images (issue 5)", "",
                "The images the adaptive stages were designed on (the tile-borders benchmark's held-out document "
                "images, which the default model saw in training, and two pages rendered with an unseen seed), each "
                "compressed alone with the default model; bytes. *Tiles*: coder 2, mixing position by position "
                "across tiles, contexts cut at tile borders; *page raster*: coder 3, the default, contexts across "
                "tile borders.", "",
                "| image | size | static | adaptive, tiles | adaptive, page raster | JBIG1 |", "|---|---|---|---|---|---|"]
        for row in gain["images"]:
            out.append(f"| {row['image']} | {row['width']}×{row['height']} | {row['static_bytes']:,} | "
                       f"{row['adaptive-tiles_bytes']:,} | {row['adaptive_bytes']:,} | {row['jbig1_bytes']:,} |")
        t = gain["totals"]

        def versus(key: str) -> str:
            return f"{t[key]:,} ({t[key] / t['static_bytes'] - 1:+.0%})"

        out += [f"| total | | {t['static_bytes']:,} | {versus('adaptive-tiles_bytes')} | {versus('adaptive_bytes')} "
                f"| {t['jbig1_bytes']:,} |", "",
                "Command: `python -m benchmarks.adaptive_gain --json docs/results/adaptive_gain.json`.", ""]
    latent = load("latent_value.json")
    if latent:
        t = latent["totals"]
        out += ["### What the DARN's latent code is worth under mixing (issue 5)", "",
                f"The same images, each one batch: coder 3's pixels cost {t['with_darn_bytes']:,.0f} bytes (ideal code "
                f"length) with the DARN's logits for the mode of q(h|x), {t['without_darn_bytes']:,.0f} with no DARN "
                f"input ({t['without_darn_bytes'] / t['with_darn_bytes'] - 1:+.1%}); h costs {t['latent_bytes']:,.0f} "
                "bytes by bits back. Coder 3 therefore codes each batch with or without the DARN, whichever is "
                "cheaper ([coding.md](coding.md)). Command: `python -m benchmarks.latent_value --json "
                "docs/results/latent_value.json`.", ""]
    borders = load("tile_borders.json")
    if borders:
        whole = {row["context_pixels"]: row["held_out_bytes"] for row in borders["static_context_model"] if not row["tile"]}
        out += ["### What independent tiles cost (issue 5)", "",
                "A static context model (P(ink | pattern of the n nearest causal neighbours), counted on the non-test "
                f"document images) on {len(borders['held_out'])} held-out non-test images "
                f"({', '.join(borders['held_out'])}), ideal code length in bytes; JBIG1 on the same images: "
                f"{borders['jbig1_bytes']:,} bytes.", "",
                "| context pixels | whole page | 32×32 tiles | 64×64 tiles |", "|---|---|---|---|"]
        for pixels, page in whole.items():
            cut = {row["tile"]: row["held_out_bytes"] for row in borders["static_context_model"]
                   if row["context_pixels"] == pixels and row["tile"]}
            out.append(f"| {pixels} | {page:,} | {cut[32]:,} (+{cut[32] / page - 1:.0%}) | {cut[64]:,} (+{cut[64] / page - 1:.0%}) |")
        out += ["", "Command: `python -m benchmarks.tile_borders --json docs/results/tile_borders.json`.", ""]
    docs_round_trip = load("bilevel_docs_round_trip.json")
    if docs_round_trip:
        r = docs_round_trip
        out += ["### Every image of `bilevel_docs` with the default model (issue 5)", "",
                f"{r['exact']} of {r['bilevel_images']} bilevel images (every page of every file under "
                f"`../shared/data/bilevel_docs` that the codec reads) round-trip bit-exactly with `{r['model']}`. "
                f"The codec refuses {len(r['refused'])} files with a one-line error ({', '.join(r['refused'])}: "
                "JBIG files, which Pillow cannot read, and one colour image); taken the way a user would "
                "(the JBIG files through `jbgtopbm`, the colour image with `--threshold 0.5`) "
                f"{r['other_exact']} of those {r['other_images']} images round-trip bit-exactly too. "
                f"{r['seconds'] / 60:.0f} minutes in all. Command: `python -m benchmarks.docs_round_trip --json "
                "docs/results/bilevel_docs_round_trip.json`.", ""]
    out += hostile_section(load("hostile.json"), load("memory.json"))
    out += kept_by_hand(Path("docs/results.md"))
    out += ["## GPU", "", "This task was not lent a GPU (the device tool's status: not drawn), so the `--device cuda` "
            "runs the issues ask for (compress on GPU / decompress on CPU, GPU speed) were not made.", ""]
    Path("docs/results.md").write_text("\n".join(out))
    print("wrote docs/results.md")
    write_readme_summary(load("bench_mnist.json"), ccitt)


def hostile_section(hostile: dict | None, memory: dict | None) -> list[str]:
    """Hostile inputs (issue 13): each crafted case's exit, peak memory and time; peak memory per page."""
    out = []
    if hostile:
        out += ["## Hostile and huge inputs (issue 13)", "",
                "Each case run as its own `darncodec` process (peak memory: the child's `ru_maxrss`; the "
                "interpreter, numpy and the libraries alone take about 130 MB); load average "
                f"{hostile['load'][0]:.1f} on the 2 cores while it ran (other jobs), so times are high. "
                "Command: `python -m benchmarks.hostile --json docs/results/hostile.json`.", "",
                "| case | command | exit | peak MB | seconds | message (stderr, one line) |", "|---|---|---|---|---|---|"]
        for row in hostile["cases"]:
            said = row["stderr"].split(": error: ", 1)[-1].replace("|", "/")
            said = f"{row['output_bytes']:,} bytes written" if "output_bytes" in row else said
            out.append(f"| {row['case']} | `{row['command']}` | {row['status']} | {row['peak_mb']:,.0f} | "
                       f"{row['seconds']:.1f} | {said} |")
        out.append("")
    if memory:
        huge = load("memory_20000.json")
        out += ["### Peak memory on whole pages (issue 13)", "",
                f"One rendered page (corpora/documents.py recipe) scaled to each resolution, model `{memory['model']}`, "
                "the default coding (symbols: these pages keep a dictionary); bytes per pixel above a 64 x 64 page's "
                f"peak. Load average {min(memory['load']):.1f}-{max(memory['load']):.1f} (quiet cores). Command: "
                "`python -m benchmarks.memory --json docs/results/memory.json`"
                + ("; the 20000 x 20000 page (the 600-dpi page repeated) `python -m benchmarks.memory --dpi --side "
                   "20000 --json docs/results/memory_20000.json`." if huge else "."), "",
                "| page | operation | peak MB | bytes/pixel | seconds | archive bytes |", "|---|---|---|---|---|---|"]
        for row in memory["runs"] + (huge["runs"] if huge else []):
            page = f"{row['dpi']} dpi, {row['width']}×{row['height']}" if isinstance(row["dpi"], int) else row["dpi"]
            out.append(f"| {page} | {row['op']} | {row['peak_mb']:,.0f} | {row['bytes_per_pixel']} | "
                       f"{row['seconds']:.1f} | {row['archive_bytes']:,} |")
        at_600 = {row["op"]: row["bytes_per_pixel"] for row in memory["runs"] if row["dpi"] == 600}
        huge_mb = {row["op"]: row["peak_mb"] for row in huge["runs"]} if huge else {}
        met = max(at_600.values()) <= 16 and huge_mb.get("compress", float("inf")) <= 4096
        out += ["", f"The issue's targets, at most 16 bytes a pixel at 600 dpi (compress {at_600['compress']}, "
                f"decompress {at_600['decompress']}) and a 20000 x 20000 page within 4 GB (compress "
                + (f"{huge_mb['compress']:,.0f} MB" if huge else "not measured") + f"), are {'met' if met else 'not met'}. "
                "Before session 6, compress took 34.3 bytes a pixel at 600 dpi (1,436 MB): coder 3's encoder kept "
                "every pixel's seven count estimates, bucket, mixer row and APM pattern (17 bytes) from its count pass "
                "until the pixel was coded, and a (tile, pixel) coding order (16 bytes). Now a batch that is coded "
                "without the DARN (on a page, every batch above 64 tiles: nearly all of its pixels) is mixed in its "
                "count pass and keeps only its coded probabilities (4 bytes a pixel, k << 1 | bit), pushes go in "
                "chunks of 2^20 symbols in coding order, and the decoder holds pixels as bytes. What remains is the "
                "image, its tiles and mask, the canvas and predicted page (a byte a pixel each) and those 4 bytes. "
                "Same archives byte for byte.", "",
                "Peak memory is measured by a small wrapper process that runs the command (`benchmarks/hostile.py`, "
                "`run`): measured from the benchmark itself, as before session 6, a child made by fork or vfork keeps "
                "its parent's high-water mark of resident memory through exec, so a base could include the "
                "benchmark's own pages (a first 20000 x 20000 run reported a base of 890 MB that way). The "
                "20000 x 20000 run's seconds are inflated: test suites ran beside it for most of its time.", ""]
    return out


def particles_section(name: str, full: dict | None, more: dict | None, subset: dict | None, s1000: dict | None,
                      suffix: str) -> list[str]:
    """Issue 14: the MNIST archive with Monte Carlo bits-back (coder 5) for several particle counts, with
    the model ``name`` (its files in docs/results end in ``suffix``; ``more``: a run with more particles)."""
    if not (full and subset):
        return []
    runs = full["runs"] + (more["runs"] if more else [])
    more_s = more["runs"][0]["particles"] if more else None
    log_p = f"{s1000['mean']['is_nll_nats']:.2f}" if s1000 else "—"
    model = f" --model {name}" if suffix else ""
    out = [f"### Monte Carlo bits-back: particles (coder 5, issue 14), `{name}`", "",
           f"The {full['digits']:,} test digits as one archive with `{name}`, coded with S particles per digit "
           "(`compress --particles S`; S = 1 is coder 1, static coding). The model's quantised −ELBO is "
           f"{full['quantised_elbo_nats_per_digit']:.2f} nats per digit ({full['quantised_elbo_bpp']:.4f} bits/pixel), "
           f"its importance-sampled −log p (S = 1000, float model) {log_p} nats: what the file could reach as S grows. "
           "*Coded* is what the tiles were charged (about the S-sample importance-weighted bound); times are "
           "whole archives, one BLAS thread, on the shared machine (another job ran on the second core: "
           f"{full['machine']}" + (f"; S = {more_s}: {more['machine']}" if more else "") + ").", "",
           "| S | bytes | bits/pixel | coded, nats/digit | compress s | decompress s | round trip |",
           "|---|---|---|---|---|---|---|"]
    for r in runs:
        out.append(f"| {r['particles']} | {r['file_bytes']:,} | {r['file_bpp']:.4f} | {r['coded_nats_per_digit']:.2f} | "
                   f"{r['compress_seconds']:.0f} | {r['decompress_seconds']:.0f} | {'exact' if r['round_trip_exact'] else 'FAILED'} |")
    goal = int(0.1560 * full["pixels"] / 8)      # issue 14: at most 0.1560 bits/pixel
    met = [r for r in runs if r["file_bytes"] <= goal]
    out += ["", f"Issue 14's goal, at most 0.1560 bits/pixel ({goal:,} bytes): "
            + (f"met with S = {met[0]['particles']} ({met[0]['file_bpp']:.5f}, {goal - met[0]['file_bytes']:,} bytes "
               "under)" if met else "not met") + f"; S = {runs[-1]['particles'] if not met else met[0]['particles']} "
            f"is the fewest particles measured that {'meet' if met else 'come nearest to'} it."]
    if s1000:
        header = runs[0]["file_bytes"] - runs[0]["payload_bytes"]
        out += ["", f"A file at the model's −log p would take {s1000['mean']['is_nll_bpp']:.4f} bits/pixel of payload, "
                f"{s1000['mean']['is_nll_bpp'] + 8 * header / full['pixels']:.4f} with the container ({header} bytes): "
                "the most that particles can give this model."]
    out += ["", f"The first {subset['digits']:,} digits alone (harder digits: −ELBO "
            f"{subset['quantised_elbo_nats_per_digit']:.2f} nats), every S:", "",
            "| S | bytes | bits/pixel | coded, nats/digit | compress s | decompress s | tiles with fewer than S particles | payload − coded, bits |",
            "|---|---|---|---|---|---|---|---|"]
    for r in subset["runs"]:
        fewer = sum(v for k, v in (r["tiles_by_particle_count"] or {}).items() if int(k) < r["particles"])
        out.append(f"| {r['particles']} | {r['file_bytes']:,} | {r['file_bpp']:.4f} | {r['coded_nats_per_digit']:.2f} | "
                   f"{r['compress_seconds']:.1f} | {r['decompress_seconds']:.1f} | "
                   f"{fewer if r['particles'] > 1 else '—'} | {r['payload_less_coded_bits']:.0f} |")
    first = {r["particles"]: r["first_digits_coded_bits"] for r in subset["runs"]}
    out += ["", "Initial bits. One digit alone is coded as by coder 1 (the first tile gets no bits back), "
            f"{', '.join(f'S = {k}: {v} bytes' for k, v in subset['one_digit_file_bytes'].items())} (coder 5 stores S "
            "in 2 more header bytes). The first tiles of an archive get fewer particles while the coder holds few "
            "bits; the bits coded for the first 10 and 100 digits: "
            + "; ".join(f"S = {k}: {v['10']:.0f} and {v['100']:.0f}" for k, v in first.items())
            + ". *Payload − coded* is what the file pays beyond the tiles' charges: the particle counts, pops "
            "beyond what the coder held, and the coder's rounding.", "",
            f"Commands: `OPENBLAS_NUM_THREADS=1 python -m benchmarks.particles{model} --particles "
            f"{' '.join(str(r['particles']) for r in full['runs'])} --json docs/results/particles_10000{suffix}.json`"
            + (f", `... --particles {more_s} --json docs/results/particles_10000{suffix}_s{more_s}.json`" if more else "")
            + f", `... --limit 1000 --particles 1 4 16 64 --json docs/results/particles_1000{suffix}.json`"
            + ("" if suffix else f" (the model was called `mnist` then: today `-m {name}`)") + ".", ""]
    return out


HAND_START, HAND_END = "<!-- written by hand: benchmarks/report.py keeps this part -->", "<!-- end of the part written by hand -->"


def kept_by_hand(page: Path) -> list[str]:
    """The part of ``page`` between HAND_START and HAND_END (sections whose runs are described in
    prose, issue 12's), kept as it is when the page is written again."""
    text = page.read_text() if page.exists() else ""
    start, end = text.find(HAND_START), text.find(HAND_END)
    if start < 0 or end < start:
        return []
    return [text[start:end + len(HAND_END)], ""]


README_START, README_END = "<!-- results: made by benchmarks/report.py -->", "<!-- end of results -->"


def write_readme_summary(mnist: dict | None, ccitt: dict | None) -> None:
    """The README's short bench table (between its markers): MNIST digits and CCITT pages per codec."""
    if not (mnist and ccitt):
        return
    rates = {row["codec"]: row for row in mnist["codecs"]}
    lines = [README_START, "",
             "| codec | MNIST test digits, bits/pixel | CCITT pages 1–8, bytes |", "|---|---|---|"]
    for row in sorted(ccitt["codecs"], key=lambda r: r["bytes"]):
        digits = rates.get(row["codec"])
        lines.append(f"| {row['codec']} | {digits['bits_per_pixel']:.4f} | {row['bytes']:,} |" if digits else
                     f"| {row['codec']} | — | {row['bytes']:,} |")
    lines += ["", f"Made by `{MNIST_BENCH}` and `{CCITT_BENCH}` (default model `docs`) on the project's 2-core "
              "CPU machine; plots (size against speed, and bytes per image relative to the best classic codec; redrawn "
              "from the JSON by `darncodec bench --from-json FILE.json --plot FILE.png`): "
              "[MNIST](docs/results/bench_mnist.png), [CCITT](docs/results/bench_ccitt.png); "
              "per page and per digit, with times: [docs/results.md](docs/results.md).", "", README_END]
    readme = Path("README.md")
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    readme.write_text(text[:start] + "\n".join(lines) + text[end:])
    print("wrote the results table in README.md")


if __name__ == "__main__":
    main()
