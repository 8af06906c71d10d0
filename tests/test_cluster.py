"""darncodec on a Dask cluster (darncodec.cluster): a LocalCluster of two workers codes the segments of
an archive to the same bytes as one process, maps over files on an fsspec file system, and serves
`darncodec compress/decompress --scheduler`."""

from __future__ import annotations

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
fsspec = pytest.importorskip("fsspec")

from darncodec import cluster, segments  # noqa: E402
from darncodec.imageio import read_bilevel_bytes, write_bilevel  # noqa: E402
from test_cli import fails, ok  # noqa: E402


def picture(seed: int, shape=(40, 72)) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < 0.2).astype(np.uint8)


@pytest.fixture(scope="module")
def client():
    """Two workers as threads of this process, reachable over TCP (so a darncodec process can use them)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                                  dashboard_address=None) as local, distributed.Client(local) as connected:
        yield connected


def test_segments_on_the_cluster_are_the_same_bytes(client, tiny_model_path) -> None:
    images = [picture(1, (72, 80)), picture(2), picture(3, (80, 72))]
    here = segments.compress(images, str(tiny_model_path))
    there = segments.compress(images, str(tiny_model_path), executor=client.get_executor())
    assert there == here and len(segments.segments(here)) == 3
    restored = segments.decompress(here, str(tiny_model_path), executor=client.get_executor())
    for (_, _, bits), expected in zip(restored.images, images, strict=True):
        np.testing.assert_array_equal(bits, expected)


def test_map_over_object_store_paths(client, tiny_model_path) -> None:
    """compress_files / decompress_files read and write through fsspec on the workers (here the
    in-memory file system, which the thread workers share with the test)."""
    memory = fsspec.filesystem("memory")
    images = {f"memory://scans/s{i}.png": picture(10 + i) for i in range(3)}
    for url, bits in images.items():
        with memory.open(url, "wb") as file:
            write_bilevel(file, bits, "png")
    executor = client.get_executor()
    archives = cluster.compress_files(list(images), "memory://out", executor, model=str(tiny_model_path))
    assert archives == [f"memory://out/s{i}.darn" for i in range(3)]
    assert memory.cat_file(archives[0])[:5] == b"DARN\x02"
    written = cluster.decompress_files(archives, "memory://restored", executor, model=str(tiny_model_path))
    for (url, bits), paths in zip(images.items(), written, strict=True):
        (path,) = paths
        np.testing.assert_array_equal(read_bilevel_bytes(memory.cat_file(path), path)[0][1], bits)
    with pytest.raises(Exception, match="already exists"):
        cluster.compress_files(list(images)[:1], "memory://out", executor, model=str(tiny_model_path))
    memory.rm("memory://", recursive=True)


def test_command_line_scheduler(client, tiny_model_path, tmp_path) -> None:
    """`darncodec compress/decompress --scheduler` (in this process: its own Client to the cluster's
    TCP address); one archive per file of scans/ in out/, the same bytes as without the cluster."""
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    out.mkdir()
    for i in range(3):
        write_bilevel(scans / f"p{i}.png", picture(20 + i), "png")
    address = client.scheduler.address
    model = ["-m", str(tiny_model_path)]
    ok(["compress", "--scheduler", address, *model, scans, "-o", f"{out}/"])
    assert sorted(p.name for p in out.iterdir()) == ["p0.darn", "p1.darn", "p2.darn"]
    local = ok(["compress", "-j", "1", *model, scans / "p1.png", "-c"]).stdout_bytes
    assert (out / "p1.darn").read_bytes() == local
    ok(["decompress", "--scheduler", address, *model, out / "p2.darn"])
    np.testing.assert_array_equal(read_bilevel_bytes((out / "p2.png").read_bytes(), "p2.png")[0][1], picture(22))
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        fails(["compress", "--scheduler", "tcp://127.0.0.1:9", *model, scans / "p0.png", "-c"])
