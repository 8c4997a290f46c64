"""Tests for bachnet.generation.samplers: filters, draws, registry and entry-point plugins."""

from __future__ import annotations

import importlib
import math
import os
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

from bachnet import samplers
from bachnet.generation.samplers import (
    Greedy,
    Sampler,
    Sampling,
    Temperature,
    TopK,
    TopP,
    Typical,
)

BUILTINS: list[Sampler] = [
    Sampler(),
    Greedy(),
    Temperature(0.7),
    TopK(3),
    TopP(0.8),
    Sampling(),
    Sampling(temperature=1.3, top_k=4, top_p=0.9),
    Typical(0.9),
]


def to_np(x: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


# ----------------------------------------------------------------- numpy reference filters


def ref_top_k(logits: np.ndarray, k: int) -> np.ndarray:
    k = min(k, logits.shape[-1])
    kth = -np.sort(-logits, axis=-1)[:, k - 1 : k]
    return np.where(logits >= kth, logits, -np.inf)


def ref_top_p(logits: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Returns (filtered logits, distance of the nearest cumulative sum to p) in float64."""
    x = logits.astype(np.float64)
    srt = -np.sort(-x, axis=-1)
    probs = np.exp(srt - srt[:, :1])
    probs /= probs.sum(-1, keepdims=True)
    cum = np.cumsum(probs, axis=-1)
    before = cum - probs
    count = (before < p).sum(-1)
    threshold = srt[np.arange(len(x)), count - 1][:, None]
    margin = np.abs(cum - p).min(-1)
    return np.where(x >= threshold, x, -np.inf), margin


def ref_probs(sampler: Sampler, logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    cfg = sampler.get_config()
    if cfg["name"] == "temperature":
        x = x / cfg["temperature"]
    elif cfg["name"] == "top_k":
        x = ref_top_k(x, cfg["k"])
    elif cfg["name"] == "top_p":
        x = ref_top_p(x, cfg["p"])[0]
    elif cfg["name"] == "sampling":
        x = x / cfg["temperature"]
        if cfg["top_k"] is not None:
            x = ref_top_k(x, cfg["top_k"])
        if cfg["top_p"] is not None:
            x = ref_top_p(x, cfg["top_p"])[0]
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ------------------------------------------------------------------------------ filters


@pytest.mark.parametrize("k", [1, 3, 7])
def test_top_k_never_draws_outside_k_best(k: int) -> None:
    rng = np.random.default_rng(0)
    logits = np.tile(rng.normal(size=(32, 30)).astype("float32"), (50, 1))  # 1600 rows
    best = np.argsort(-logits, axis=-1)[:, :k]
    for seed in range(4):
        ids = to_np(TopK(k)(logits, seed=seed))
        assert ids.dtype == np.int32 and ids.shape == (len(logits),)
        assert (best == ids[:, None]).any(-1).all()


def test_top_k_larger_than_vocab_keeps_all_and_ties_keep_more() -> None:
    logits = np.array([[1.0, 2.0, 3.0]], "float32")
    np.testing.assert_array_equal(to_np(TopK(10).filter(logits)), logits)
    tied = to_np(TopK(2).filter(np.array([[1.0, 2.0, 2.0, 2.0, 0.0]], "float32")))
    np.testing.assert_array_equal(np.isfinite(tied), [[False, True, True, True, False]])


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.9, 0.99])
def test_top_p_matches_numpy_reference(p: float) -> None:
    rng = np.random.default_rng(1)
    logits = (rng.normal(size=(300, 40)) * rng.uniform(0.2, 4.0, size=(300, 1))).astype("float32")
    got = np.isfinite(to_np(TopP(p).filter(logits)))
    want_logits, margin = ref_top_p(logits, p)
    safe = margin > 1e-5  # rows whose cumulative sum is not within float error of p
    assert safe.mean() > 0.9
    np.testing.assert_array_equal(got[safe], np.isfinite(want_logits[safe]))
    # Smallest set reaching p: kept mass >= p, and dropping the least likely kept id falls
    # below p.
    probs = ref_probs(Sampler(), logits)[safe]
    kept = np.where(got[safe], probs, 0.0)
    assert (kept.sum(-1) >= p - 1e-6).all()
    least = np.where(got[safe], probs, np.inf).min(-1)
    assert (kept.sum(-1) - least < p + 1e-6).all()


@pytest.mark.parametrize("mass", [0.2, 0.5, 0.9])
def test_typical_keeps_the_ids_nearest_the_entropy(mass: float) -> None:
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=(200, 30)) * rng.uniform(0.5, 3.0, size=(200, 1))).astype("float32")
    kept = np.isfinite(to_np(Typical(mass).filter(logits)))
    probs = ref_probs(Sampler(), logits)
    entropy = -(probs * np.log(probs)).sum(-1, keepdims=True)
    deviation = np.abs(-np.log(probs) - entropy)
    assert kept.any(axis=1).all()
    # every kept id is at least as typical as every dropped id
    worst_kept = np.where(kept, deviation, -np.inf).max(-1)
    best_dropped = np.where(kept, np.inf, deviation).min(-1)
    assert (worst_kept <= best_dropped + 1e-5).all()
    # the smallest such set reaching the mass: dropping the least typical kept id falls short
    mass_kept = np.where(kept, probs, 0.0).sum(-1)
    assert (mass_kept >= mass - 1e-5).all()
    last = np.where(kept & (deviation >= worst_kept[:, None] - 1e-6), probs, 0.0).sum(-1)
    assert (mass_kept - last < mass + 1e-5).all()


def test_typical_may_drop_the_most_likely_id() -> None:
    logits = np.log([[0.5, 0.2, 0.2, 0.1]]).astype("float32")
    np.testing.assert_array_equal(
        np.isfinite(to_np(Typical(0.35).filter(logits))), [[False, True, True, False]]
    )
    np.testing.assert_array_equal(to_np(Typical(1.0).filter(logits)), logits)
    with pytest.raises(ValueError, match="must be a number in"):
        Typical(0.0)


def test_top_p_single_id_above_p_and_top1_always_kept() -> None:
    logits = np.array([[0.0, 5.0, 0.0, 1.0], [2.0, 2.0, 0.0, 0.0]], "float32")
    out = np.isfinite(to_np(TopP(0.5).filter(logits)))
    # Row 0: id 1 alone has ~0.93 > 0.5. Row 1: a tie at the top keeps both tied ids.
    np.testing.assert_array_equal(out, [[False, True, False, False], [True, True, False, False]])
    np.testing.assert_array_equal(np.isfinite(to_np(TopP(1e-9).filter(logits))).sum(-1), [1, 2])
    np.testing.assert_array_equal(to_np(TopP(1.0).filter(logits)), logits)


@pytest.mark.parametrize("sampler", BUILTINS, ids=repr)
def test_filters_never_reorder_and_mask_only_with_neg_inf(sampler: Sampler) -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(64, 20)).astype("float32")
    logits[:8, 5] = -np.inf  # already-masked input stays masked
    out = to_np(sampler.filter(logits))
    assert out.shape == logits.shape and out.dtype == np.float32
    finite = np.isfinite(out)
    assert np.isneginf(out[~finite]).all()
    assert finite.any(-1).all()
    t = sampler.get_config().get("temperature", 1.0)
    np.testing.assert_allclose(out[finite], logits[finite] / t, rtol=1e-6)
    # The kept set is an "upper set" of the logits: nothing masked beats something kept.
    max_masked = np.where(finite, -np.inf, logits).max(-1)
    min_kept = np.where(finite, logits, np.inf).min(-1)
    assert (max_masked < min_kept).all()


def test_composite_order_temperature_then_top_k_then_top_p() -> None:
    logits = np.array([[2.0, 1.0, 0.0, -1.0]], "float32")
    # Top-p sees tempered probabilities: raw probs [.64, .24, ...] keep 2 ids for p=0.7,
    # tempered by 3 they are [.39, .28, .20, .14] and keep 3.
    raw = np.isfinite(to_np(TopP(0.7).filter(logits)))
    tempered = np.isfinite(to_np(Sampling(temperature=3.0, top_p=0.7).filter(logits)))
    assert raw.sum() == 2 and tempered.sum() == 3
    np.testing.assert_array_equal(tempered, np.isfinite(ref_top_p(logits / 3.0, 0.7)[0]))
    # Top-k before top-p: after top-2 the renormalised top-1 has .73 >= .7, so 1 id is left
    # (top-p first would keep 2 and top-k would keep both).
    both = np.isfinite(to_np(Sampling(top_k=2, top_p=0.7).filter(logits)))
    np.testing.assert_array_equal(both, [[True, False, False, False]])


@settings(max_examples=40, deadline=None)
@given(
    logits=st.lists(
        st.floats(-50, 50, width=32) | st.just(-math.inf), min_size=1, max_size=12
    ).filter(lambda xs: any(math.isfinite(x) for x in xs)),
    temperature=st.floats(0.05, 20.0),
    top_k=st.integers(1, 15),
    top_p=st.floats(1e-6, 1.0, exclude_min=True),
)
def test_property_composite_keeps_top1_and_masks_a_suffix(
    logits: list[float], temperature: float, top_k: int, top_p: float
) -> None:
    x = np.array([logits], "float32")
    out = to_np(Sampling(temperature=temperature, top_k=top_k, top_p=top_p).filter(x))
    finite = np.isfinite(out)
    assert finite[0, int(np.argmax(x))]
    assert 1 <= finite.sum() <= np.isfinite(x).sum()
    assert np.isneginf(out[~finite]).all()
    max_masked = np.where(finite, -np.inf, x).max()
    assert max_masked < np.where(finite, x, np.inf).min()


# -------------------------------------------------------------------------------- draws


def test_temperature_near_zero_equals_greedy() -> None:
    rng = np.random.default_rng(3)
    logits = np.stack([rng.permutation(16) * 0.5 for _ in range(256)]).astype("float32")
    greedy = to_np(Greedy()(logits, seed=0))
    np.testing.assert_array_equal(greedy, logits.argmax(-1))
    for seed in range(4):
        np.testing.assert_array_equal(to_np(Temperature(1e-4)(logits, seed=seed)), greedy)


@pytest.mark.parametrize(
    "sampler",
    [
        Sampler(),
        Temperature(1.7),
        TopK(3),
        TopP(0.8),
        Sampling(temperature=0.8, top_k=6, top_p=0.9),
    ],
    ids=repr,
)
def test_empirical_frequencies_match_filtered_softmax(sampler: Sampler) -> None:
    n = 20000
    row = np.array([1.5, 0.2, -0.3, 1.1, 0.0, -1.0, 0.7, -2.0], "float32")
    want = ref_probs(sampler, row[None])[0]
    ids = to_np(sampler(np.tile(row, (n, 1)), seed=123))
    counts = np.bincount(ids, minlength=len(row))
    assert (counts[want == 0] == 0).all()
    sigma = np.sqrt(n * want * (1 - want))
    assert (np.abs(counts - n * want) <= 5 * sigma + 1).all(), (counts, n * want)


def test_seeds_and_noise_are_reproducible() -> None:
    logits = np.zeros((2000, 16), "float32")
    sampler = Sampling(temperature=1.2, top_p=0.95)
    a, b, c = (to_np(sampler(logits, seed=s)) for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.5
    noise = to_np(keras.random.uniform(logits.shape, seed=5))
    np.testing.assert_array_equal(
        to_np(sampler(logits, seed=1, noise=noise)), to_np(sampler(logits, seed=99, noise=noise))
    )


def test_draw_handles_extreme_noise_and_masked_ids() -> None:
    logits = np.array([[-np.inf, 0.0, -np.inf], [0.0, -np.inf, -np.inf]], "float32")
    noise = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], "float32")
    np.testing.assert_array_equal(to_np(Sampler().draw(logits, noise)), [1, 0])
    np.testing.assert_array_equal(to_np(Greedy().draw(logits, noise)), [1, 0])


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="uses tf.function (TensorFlow backend)"
)
def test_compiled_matches_eager() -> None:
    import tensorflow as tf

    rng = np.random.default_rng(4)
    logits = rng.normal(size=(64, 24)).astype("float32")
    noise = rng.uniform(size=(64, 24)).astype("float32")
    builtins = [*BUILTINS, Sampling(temperature=0.5, top_k=100, top_p=0.3)]

    @tf.function(jit_compile=True)
    def step(x: tf.Tensor, u: tf.Tensor) -> list[tf.Tensor]:
        return [s(x, noise=u) for s in builtins] + [s.filter(x) for s in builtins]

    compiled = [to_np(t) for t in step(tf.constant(logits), tf.constant(noise))]
    eager = [to_np(s(logits, noise=noise)) for s in builtins]
    eager += [to_np(s.filter(logits)) for s in builtins]
    for got, want in zip(compiled, eager, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Temperature(0), r"temperature must be a finite number > 0, got 0"),
        (lambda: Temperature(-1.5), r"temperature .* got -1\.5"),
        (lambda: Temperature(math.inf), r"temperature .* got inf"),
        (lambda: TopK(0), r"top_k must be an integer >= 1, got 0"),
        (lambda: TopK(2.5), r"top_k .* got 2\.5"),
        (lambda: TopK(True), r"top_k .* got True"),
        (lambda: TopP(0), r"top_p must be a number in \(0, 1\], got 0"),
        (lambda: TopP(1.5), r"top_p .* got 1\.5"),
        (lambda: TopP(math.nan), r"top_p .* got nan"),
        (lambda: Sampling(temperature=0.0), r"temperature .* got 0\.0"),
        (lambda: Sampling(top_k=-3), r"top_k .* got -3"),
        (lambda: Sampling(top_p=2), r"top_p .* got 2"),
    ],
)
def test_validation_messages_name_the_bad_value(make: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------------------- registry


def test_get_accepts_names_aliases_dicts_and_instances() -> None:
    assert samplers.get("greedy") == Greedy()
    assert samplers.get("nucleus") == TopP() == samplers.get("top_p")
    assert isinstance(samplers.get("temperature"), Temperature)
    assert samplers.get({"name": "top_k", "k": 5}) == TopK(5)
    assert samplers.get({"name": "nucleus", "p": 0.5}) == TopP(0.5)
    inst = Sampling(top_k=3)
    assert samplers.get(inst) is inst
    assert {"greedy", "nucleus", "sampling", "temperature", "top_k", "top_p"} <= set(
        samplers.available()
    )


def test_get_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown sampler 'beam'.*greedy.*top_k.*top_p"):
        samplers.get("beam")
    with pytest.raises(ValueError, match="'name'"):
        samplers.get({"k": 3})
    with pytest.raises(ValueError, match="top_k"):
        samplers.get({"name": "top_k", "k": 0})
    with pytest.raises(TypeError):
        samplers.get(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("sampler", BUILTINS, ids=repr)
def test_config_round_trip(sampler: Sampler) -> None:
    config = sampler.get_config()
    assert config["name"] == type(sampler).name
    clone = type(sampler).from_config(config)
    assert clone == sampler and hash(clone) == hash(sampler) and clone is not sampler
    if type(sampler) is not Sampler:
        assert samplers.get(dict(config)) == sampler
    assert repr(clone) == repr(sampler) and repr(sampler).startswith(type(sampler).__name__)
    assert sampler != TopK(99)


def test_register_sets_name_and_rejects_clashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samplers._SAMPLERS, "builtins", dict(samplers._SAMPLERS.builtins))

    @samplers.register()
    class Argmin(Sampler):
        def draw(self, logits: Any, noise: Any) -> Any:
            return ops.cast(ops.argmin(logits, axis=-1), "int32")

    assert Argmin.name == "argmin" and samplers.get("argmin").get_config() == {"name": "argmin"}
    with pytest.raises(ValueError, match="'greedy' is already registered"):
        samplers.register("greedy")(Argmin)


# ------------------------------------------------------------------------------ plugins

PLUGIN_MODULE = """
from keras import ops
from bachnet.generation.samplers import Sampler

class MySampler(Sampler):
    def __init__(self, offset: int = 0) -> None:
        self.offset = offset

    def draw(self, logits, noise):
        return ops.cast(ops.argmin(logits, axis=-1), "int32")

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}
"""

ENTRY_POINTS = """
[bachnet.generation.samplers]
my_sampler = fake_bach_plugin:MySampler
greedy = fake_bach_plugin:MySampler
broken = fake_bach_plugin:DoesNotExist
"""


@pytest.fixture
def fake_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "fake_bach_plugin.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    info = tmp_path / "fake_bach_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-bach-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS.lstrip())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_bach_plugin", raising=False)
    importlib.invalidate_caches()
    samplers._reset_plugins()
    yield
    samplers._reset_plugins()


@pytest.mark.usefixtures("fake_plugin")
def test_entry_point_plugin_is_found_and_builtins_win() -> None:
    assert samplers.get("greedy") == Greedy()  # a builtin hit does not load plugins
    assert not samplers._SAMPLERS._loaded
    with pytest.warns(UserWarning) as record:
        plugin = samplers.get({"name": "my_sampler", "offset": 2})
    messages = [str(w.message) for w in record]
    assert any("'greedy'" in m and "built-in" in m for m in messages)
    assert any("'broken'" in m and "failed to load" in m for m in messages)
    assert type(plugin).__name__ == "MySampler" and plugin.get_config() == {
        "name": "my_sampler",
        "offset": 2,
    }
    assert to_np(plugin(np.array([[3.0, -1.0, 2.0]], "float32"), seed=0)).tolist() == [1]
    assert isinstance(samplers.get("greedy"), Greedy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loaded once: no second scan, no new warnings
        assert "my_sampler" in samplers.available()
        assert samplers.get("my_sampler") == type(plugin)()
    with pytest.raises(ValueError, match="my_sampler"):
        samplers.get("nope")


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("top_k", {}, TopK(10)),  # the registered sampler, not Sampling(top_k=10)
        ("top_k", {"top_k": 5}, TopK(5)),
        ("top_p", {}, TopP(0.98)),
        ("nucleus", {"top_p": 0.9}, TopP(0.9)),
        ("temperature", {"temperature": 0.7}, Temperature(0.7)),
        ("top_k", {"temperature": 0.8}, Sampling(temperature=0.8, top_k=10)),
        ("top_p", {"top_k": 20}, Sampling(top_k=20, top_p=0.98)),
        ("sampling", {"top_k": 3}, Sampling(top_k=3)),
        ("greedy", {}, Greedy()),
    ],
)
def test_from_options_builds_the_named_sampler(
    name: str, options: dict[str, Any], expected: Sampler
) -> None:
    built = samplers.from_options(name, **options)
    assert built == expected and type(built) is type(expected)


def test_from_options_refuses_settings_a_sampler_does_not_take() -> None:
    with pytest.raises(ValueError, match="'greedy' takes no --top-k, --top-p"):
        samplers.from_options("greedy", top_k=3, top_p=0.5)
    with pytest.raises(ValueError, match="unknown sampler"):
        samplers.from_options("no_such_sampler")
