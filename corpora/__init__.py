"""Corpus loaders and recipes (installed as darncodec.corpora)."""

from .mnist import download_mnist, load_binarized_mnist, load_mnist_idx
from .paths import data_root, samples_dir
from .tiles import cut_tiles, folder_tiles
from .uci import load_uci

__all__ = [
    "cut_tiles",
    "data_root",
    "download_mnist",
    "folder_tiles",
    "load_binarized_mnist",
    "load_mnist_idx",
    "load_uci",
    "samples_dir",
]
