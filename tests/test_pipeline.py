"""Tests for bachnet.training.windows: window counts, window contents, tf.data == NumPy, plans."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from bachnet import Chorale, Dataset, Vocabulary, Windows

LENGTH = 64
VOCAB = Vocabulary()


@pytest.fixture(scope="module")
def pieces(jsb_dataset: Dataset) -> list[Chorale]:
    """Twelve JSB training chorales plus two too short for a window of 64 (+1) tokens."""
    train = jsb_dataset.split("train")
    short = [Chorale([[72, 67, 64, 48]] * 16, name="16 tokens")]  # 64 tokens: none
    exact = [Chorale([[74, 67, 62, 43]] * 16 + [[72, 0, 0, 0]], name="68 tokens")]
    chosen = [train[i] for i in range(0, 120, 10)]
    return chosen[:4] + short + chosen[4:8] + exact + chosen[8:]


def expected_count(tokens: int, length: int, stride: int | None) -> int:
    """Windows of one chorale of ``tokens`` tokens, from the formulas in pipeline's docstring."""
    if tokens <= length:
        return 0
    if stride is None:
        return (tokens - 1) // length
    return (tokens - length - 1) // stride + 1


def window_of(chorale: Chorale, start: int, shift: int, length: int) -> np.ndarray:
    """``length + 1`` tokens of ``chorale`` transposed by ``shift``, cut here from scratch."""
    tokens = VOCAB.encode(chorale.transpose(shift))
    assert 0 <= start <= len(tokens) - (length + 1), "window crosses the chorale's end"
    return tokens[start : start + length + 1]


def stack(batches: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


# ---------------------------------------------------------------------------- window counts
@pytest.mark.parametrize("stride", [1, 7, None], ids=["stride1", "stride7", "random"])
def test_window_counts(pieces: list[Chorale], stride: int | None) -> None:
    windows = Windows(pieces, VOCAB, length=LENGTH, stride=stride)
    expected = [expected_count(4 * len(c), LENGTH, stride) for c in pieces]
    assert expected[4] == 0  # the 64-token piece gives no window
    assert expected[9] == (1 if stride is None else (68 - 65) // stride + 1)
    assert windows.counts.tolist() == expected
    assert windows.per_epoch == sum(expected)
    for epoch in (0, 1):
        plan = windows.plan(epoch)
        assert plan.shape == (sum(expected), 4)
        assert np.bincount(plan[:, 2], minlength=len(pieces)).tolist() == expected
    batches = list(windows.batches(batch_size=100))
    assert len(batches) == windows.batches_per_epoch(100) == -(-sum(expected) // 100)
    assert sum(len(x) for x, _ in batches) == sum(expected)
    dropped = list(windows.batches(batch_size=100, drop_remainder=True))
    assert (
        len(dropped) == windows.batches_per_epoch(100, drop_remainder=True) == sum(expected) // 100
    )
    assert all(len(x) == 100 for x, _ in dropped)


def test_docstring_example() -> None:
    piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 40)  # 320 tokens
    windows = Windows([piece], VOCAB, length=64, stride=32)
    assert windows.per_epoch == (320 - 65) // 32 + 1 == 8
    x, y = next(windows.batches(batch_size=8))
    assert x.shape == y.shape == (8, 64)


# --------------------------------------------------------------------------- window contents
@pytest.mark.parametrize("stride", [1, 7, None], ids=["stride1", "stride7", "random"])
def test_windows_are_slices_of_one_chorale(pieces: list[Chorale], stride: int | None) -> None:
    windows = Windows(pieces, VOCAB, length=LENGTH, stride=stride, transpose=6, seed=3)
    offsets = np.cumsum([0] + [4 * len(c) for c in pieces])
    for epoch in (0, 1):
        plan = windows.plan(epoch)
        inputs, targets = stack(
            list(windows.batches(batch_size=64, epochs=range(epoch, epoch + 1)))
        )
        assert inputs.shape == targets.shape == (len(plan), LENGTH)
        assert inputs.dtype == targets.dtype == np.int32
        np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])  # shifted by one
        starts: dict[int, list[int]] = {}
        for row, x, y in zip(plan, inputs, targets, strict=True):
            first, shift, index, _ = (int(v) for v in row)
            chorale = pieces[index]
            start = first - int(offsets[index])
            assert -6 <= shift <= 6
            assert shift in VOCAB.transpositions(chorale, 6)
            if stride is not None:
                assert shift == 0
            expected = window_of(chorale, start, shift, LENGTH)
            np.testing.assert_array_equal(np.concatenate([x, y[-1:]]), expected)
            assert x.min() >= 0
            assert x.max() < VOCAB.size
            starts.setdefault(index, []).append(start)
        if stride is not None:
            for index, found in starts.items():
                count = expected_count(4 * len(pieces[index]), LENGTH, stride)
                assert sorted(found) == list(range(0, count * stride, stride))


def test_random_windows_are_transposed(pieces: list[Chorale]) -> None:
    windows = Windows(pieces, VOCAB, length=LENGTH, transpose=6, seed=0)
    shifts = np.concatenate([windows.plan(e)[:, 1] for e in range(3)])
    assert len(set(shifts.tolist())) > 5
    assert shifts.min() >= -6
    assert shifts.max() <= 6
    plain = Windows(pieces, VOCAB, length=LENGTH, transpose=0, seed=0)
    assert (plain.plan(0)[:, 1] == 0).all()


def test_transposition_respects_vocabulary_edges() -> None:
    # soprano at 81 (the top): no upward shift; bass at 40: at most 4 down
    edge = Chorale([[81, 70, 60, 40], [79, 69, 59, 41]] * 40, name="edge")
    windows = Windows([edge], VOCAB, length=16, transpose=6, seed=0)
    shifts = np.concatenate([windows.plan(e)[:, 1] for e in range(20)])
    assert set(shifts.tolist()) == set(range(-4, 1))
    for x, y in windows.batches(batch_size=64, epochs=range(3)):
        assert x.max() < VOCAB.size
        assert y.max() < VOCAB.size


# ------------------------------------------------------------------------ tf.data == NumPy
@pytest.mark.parametrize("stride", [7, None], ids=["stride7", "random"])
@pytest.mark.parametrize("drop_remainder", [False, True])
def test_tf_dataset_matches_numpy(
    pieces: list[Chorale], stride: int | None, drop_remainder: bool
) -> None:
    windows = Windows(pieces, VOCAB, length=LENGTH, stride=stride, seed=11)
    epochs = range(2)
    numpy_batches = list(windows.batches(96, epochs=epochs, drop_remainder=drop_remainder))
    tf_batches = [
        (x.numpy(), y.numpy())
        for x, y in windows.tf_dataset(96, epochs=epochs, drop_remainder=drop_remainder)
    ]
    assert (
        len(tf_batches)
        == len(numpy_batches)
        == 2 * windows.batches_per_epoch(96, drop_remainder=drop_remainder)
    )
    for (tx, ty), (nx, ny) in zip(tf_batches, numpy_batches, strict=True):
        assert tx.dtype == nx.dtype == np.int32
        np.testing.assert_array_equal(tx, nx)
        np.testing.assert_array_equal(ty, ny)


def test_tf_dataset_follows_epoch_range(pieces: list[Chorale]) -> None:
    windows = Windows(pieces[:4], VOCAB, length=LENGTH, seed=5)
    for epochs in (range(2, 4), range(0, 5, 2)):
        numpy_x = stack(list(windows.batches(256, epochs=epochs)))[0]
        tf_x = np.concatenate([x.numpy() for x, _ in windows.tf_dataset(256, epochs=epochs)])
        np.testing.assert_array_equal(tf_x, numpy_x)
        assert len(numpy_x) == len(epochs) * windows.per_epoch


# ---------------------------------------------------------------------------------- plans
def test_plans_differ_between_epochs_in_random_mode(pieces: list[Chorale]) -> None:
    windows = Windows(pieces, VOCAB, length=LENGTH, seed=0)
    plans = [windows.plan(epoch) for epoch in range(3)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not np.array_equal(plans[a], plans[b])
    x0 = next(windows.batches(32, epochs=range(0, 1)))[0]
    x1 = next(windows.batches(32, epochs=range(1, 2)))[0]
    assert not np.array_equal(x0, x1)


def test_stride_mode_reshuffles_same_windows(pieces: list[Chorale]) -> None:
    windows = Windows(pieces, VOCAB, length=LENGTH, stride=7, seed=0)
    a, b = windows.plan(0), windows.plan(1)
    assert not np.array_equal(a, b)
    assert sorted(map(tuple, a.tolist())) == sorted(map(tuple, b.tolist()))


def test_same_seed_same_plan(pieces: list[Chorale]) -> None:
    one = Windows(pieces, VOCAB, length=LENGTH, seed=42)
    two = Windows(list(pieces), VOCAB, length=LENGTH, seed=42)
    other = Windows(pieces, VOCAB, length=LENGTH, seed=43)
    for epoch in (0, 5):
        np.testing.assert_array_equal(one.plan(epoch), two.plan(epoch))
        np.testing.assert_array_equal(one.plan(epoch), one.plan(epoch))
        assert not np.array_equal(one.plan(epoch), other.plan(epoch))
    for (x1, y1), (x2, y2) in zip(
        one.batches(64, epochs=range(2)), two.batches(64, epochs=range(2)), strict=True
    ):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


# --------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"length": 0}, "window length must be >= 1, got 0"),
        ({"length": -5}, "got -5"),
        ({"stride": 0}, "stride must be >= 1.*got 0"),
        ({"stride": -1}, "got -1"),
        ({"transpose": -1}, "transpose must be >= 0 semitones, got -1"),
    ],
)
def test_bad_settings(tiny_chorales: list[Chorale], settings: dict[str, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Windows(tiny_chorales, VOCAB, **settings)  # type: ignore[arg-type]


def test_chorales_too_short(tiny_chorales: list[Chorale]) -> None:
    longest = max(4 * len(c) for c in tiny_chorales)
    for stride in (None, 1):
        with pytest.raises(ValueError, match=f"the longest has {longest} tokens"):
            Windows(tiny_chorales, VOCAB, length=longest, stride=stride)
    Windows(tiny_chorales, VOCAB, length=longest - 1)  # one token more is enough
    with pytest.raises(ValueError, match=r"no chorale is long enough.*longest has 0"):
        Windows([], VOCAB, length=8)


def test_out_of_vocabulary_chorale() -> None:
    with pytest.raises(ValueError, match="outside the vocabulary"):
        Windows([Chorale([[90, 67, 64, 48]] * 64)], VOCAB, length=8)


def test_silent_chorale_is_not_transposed() -> None:
    silent = Chorale([[0, 0, 0, 0]] * 10, name="rests")
    notes = Chorale([[60, 55, 52, 48]] * 10, name="notes")
    windows = Windows([silent, notes], VOCAB, length=8, transpose=6, seed=0)
    for epoch in range(5):
        plan = windows.plan(epoch)
        assert (plan[plan[:, 2] == 0, 1] == 0).all()
