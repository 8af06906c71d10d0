"""The DARN's integer network: exact weights, integer logits, table probabilities (Ballé et al. 2019)."""
