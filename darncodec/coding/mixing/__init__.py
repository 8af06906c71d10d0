"""Page-adaptive context mixing: counts, mixers and APMs over the pixels (coder ids 2 and 3)."""
