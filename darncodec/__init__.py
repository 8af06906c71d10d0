"""darncodec: lossless bilevel image compression with DARN and bits-back ANS coding."""

__version__ = "0.1.0"
