"""The ANS coder: constriction's AnsCoder (streams) and a numba port of its Bernoulli pop/push (kernel)."""
