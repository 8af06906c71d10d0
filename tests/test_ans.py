"""Byte-exactness of the numba ANS port against constriction's AnsCoder."""

from __future__ import annotations

import constriction
import numba
import numpy as np
import pytest

from darncodec.coding.ans import kernel as ans

AnsCoder = constriction.stream.stack.AnsCoder
TOTAL = 1 << 24
EDGE_KS = [
    1,
    2,
    3,
    1000,
    (1 << 23) - 2,
    (1 << 23) - 1,
    1 << 23,
    (1 << 23) + 1,
    TOTAL - 2,
    TOTAL - 1,
]


def _model() -> constriction.stream.model.Bernoulli:
    return constriction.stream.model.Bernoulli(perfect=False)


def _random_ks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mix of uniform k, extreme k and k near 2**23."""
    ks = rng.integers(1, TOTAL, n)
    pick = rng.random(n)
    ks[pick < 0.2] = rng.choice(EDGE_KS, int((pick < 0.2).sum()))
    skewed = (pick >= 0.2) & (pick < 0.4)
    ks[skewed] = np.where(
        rng.random(int(skewed.sum())) < 0.5,
        1 + rng.integers(0, 64, int(skewed.sum())),
        TOTAL - 1 - rng.integers(0, 64, int(skewed.sum())),
    )
    return ks.astype(np.int64)


def _bits_for(rng: np.random.Generator, ks: np.ndarray) -> np.ndarray:
    """Bits drawn mostly from the model, sometimes adversarially (unlikely bits)."""
    bits = (rng.random(ks.shape[0]) < ks / TOTAL).astype(np.int32)
    flip = rng.random(ks.shape[0]) < 0.05
    bits[flip] ^= 1
    return bits


@numba.njit
def _pop_all(words, state, ks):
    out = np.empty(ks.shape[0], dtype=np.int32)
    for i in range(ks.shape[0]):
        out[i] = ans.pop_bit(words, state, ks[i])
    return out


@numba.njit
def _push_reverse(words, state, bits, ks):
    for i in range(ks.shape[0] - 1, -1, -1):
        ans.push_bit(words, state, bits[i], ks[i])


def _initial_coder(rng: np.random.Generator, n_words: int) -> AnsCoder:
    if n_words == 0:
        return AnsCoder()
    data = rng.integers(0, 1 << 32, n_words, dtype=np.uint64).astype(np.uint32)
    data[-1] |= 1
    return AnsCoder(data)


def _assert_same(words: np.ndarray, state: np.ndarray, coder: AnsCoder) -> None:
    np.testing.assert_array_equal(
        ans.to_coder(words, state).get_compressed(), coder.get_compressed()
    )
    assert coder.pos() == (int(state[0]), int(state[1]))
    assert ans.num_words(state) == coder.num_words()
    assert bool(ans.is_empty(state)) == coder.is_empty()


def test_quantisation_matches_constriction() -> None:
    rng = np.random.default_rng(1)
    ks = EDGE_KS + [int(k) for k in rng.integers(1, TOTAL, 2000)]
    for k in ks:
        coder = AnsCoder()
        # Encoding a 1 on an empty coder leaves head == cdf(1) == prob0.
        coder.encode_reverse(
            1, constriction.stream.model.Bernoulli(k / TOTAL, perfect=False)
        )
        (prob0,) = coder.get_compressed()
        assert int(ans.bernoulli_prob1(k)) == TOTAL - int(prob0), k
    assert int(ans.bernoulli_prob1(1)) == 2
    assert int(ans.bernoulli_prob1((1 << 23) - 1)) == 1 << 23
    assert int(ans.bernoulli_prob1(1 << 23)) == 1 << 23
    assert int(ans.bernoulli_prob1(TOTAL - 1)) == TOTAL - 1


@pytest.mark.parametrize("n_init", [0, 1, 2, 7])
def test_constriction_push_numba_pop(n_init: int) -> None:
    rng = np.random.default_rng(10 + n_init)
    ks = _random_ks(rng, 20000)
    bits = _bits_for(rng, ks)
    coder = _initial_coder(rng, n_init)
    reference = coder.clone()
    coder.encode_reverse(bits, _model(), ks / TOTAL)
    words, state = ans.to_stack(coder)
    _assert_same(words, state, coder)

    half = ks.shape[0] // 2
    np.testing.assert_array_equal(_pop_all(words, state, ks[:half]), bits[:half])
    np.testing.assert_array_equal(
        coder.decode(_model(), ks[:half] / TOTAL), bits[:half]
    )
    _assert_same(words, state, coder)

    np.testing.assert_array_equal(_pop_all(words, state, ks[half:]), bits[half:])
    _assert_same(words, state, reference)
    if n_init == 0:
        assert int(state[0]) == 0 and int(state[1]) == 0


@pytest.mark.parametrize("n_init", [0, 1, 2, 7])
def test_numba_push_constriction_pop(n_init: int) -> None:
    rng = np.random.default_rng(20 + n_init)
    ks = _random_ks(rng, 20000)
    bits = _bits_for(rng, ks)
    coder = _initial_coder(rng, n_init)
    reference = coder.clone()
    words, state = ans.to_stack(coder, spare=ks.shape[0])
    _push_reverse(words, state, bits, ks)
    reference.encode_reverse(bits, _model(), ks / TOTAL)
    _assert_same(words, state, reference)

    decoded = ans.to_coder(words, state).decode(_model(), ks / TOTAL)
    np.testing.assert_array_equal(decoded, bits)


def test_mixed_pushes_and_pops_match_reference() -> None:
    rng = np.random.default_rng(3)
    reference = _initial_coder(rng, 3)
    coder = reference.clone()
    words, state = ans.to_stack(coder, spare=16)
    for step in range(60):
        n = int(rng.integers(1, 400))
        ks = _random_ks(rng, n)
        action = step % 4
        if action in (0, 1):  # push
            bits = _bits_for(rng, ks)
            reference.encode_reverse(bits, _model(), ks / TOTAL)
            if action == 0:
                words = ans.grow(words, state, n)
                _push_reverse(words, state, bits, ks)
            else:
                coder = ans.to_coder(words, state)
                coder.encode_reverse(bits, _model(), ks / TOTAL)
                words, state = ans.to_stack(coder, spare=4)
        else:  # pop (with arbitrary models, as in bits-back)
            expected = reference.decode(_model(), ks / TOTAL)
            if action == 2:
                got = _pop_all(words, state, ks)
            else:
                coder = ans.to_coder(words, state)
                got = coder.decode(_model(), ks / TOTAL)
                words, state = ans.to_stack(coder, spare=4)
            np.testing.assert_array_equal(got, expected)
        _assert_same(words, state, reference)


def test_pop_from_empty_stack() -> None:
    words, state = ans.to_stack(AnsCoder())
    assert int(state[0]) == 0 and int(state[1]) == 0
    coder = AnsCoder()
    for k in EDGE_KS:
        assert (
            coder.decode(constriction.stream.model.Bernoulli(k / TOTAL, perfect=False))
            == 0
        )
        assert ans.pop_bit(words, state, k) == 0
        _assert_same(words, state, coder)
    assert ans.is_empty(state) and coder.is_empty()


@pytest.mark.parametrize(
    "initial",
    [
        [1],
        [2],
        [5],
        [0xFFFFFF],
        [0x1000000],
        [0xFFFFFFFF],
        [0, 1],
        [7, 3],
        [0xFFFFFFFF, 0xFFFFFFFF],
        [9, 0, 1],
    ],
)
def test_pop_from_nearly_empty_stack(initial: list[int]) -> None:
    rng = np.random.default_rng(sum(initial) % 1000)
    coder = AnsCoder(np.array(initial, dtype=np.uint32))
    words, state = ans.to_stack(coder)
    _assert_same(words, state, coder)
    for k in _random_ks(rng, 300):
        expected = coder.decode(
            constriction.stream.model.Bernoulli(k / TOTAL, perfect=False)
        )
        assert ans.pop_bit(words, state, int(k)) == expected
        _assert_same(words, state, coder)


def test_roundtrip_conversion_and_capacity() -> None:
    rng = np.random.default_rng(5)
    for n_init in (0, 1, 2, 3, 50):
        coder = _initial_coder(rng, n_init)
        words, state = ans.to_stack(coder, spare=3)
        assert words.shape[0] - int(state[0]) >= 3
        np.testing.assert_array_equal(
            ans.to_coder(words, state).get_compressed(), coder.get_compressed()
        )

    words = np.zeros(0, dtype=np.uint32)
    state = np.zeros(2, dtype=np.uint64)
    with pytest.raises(IndexError):
        for _ in range(10):  # the first flush needs a free slot
            ans.push_bit(words, state, 1, 1)
    words = ans.grow(words, state, 1)
    assert words.shape[0] >= 1
    ans.push_bit(words, state, 1, 1)
