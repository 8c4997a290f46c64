"""`BachNet`: the library's face. A network, its vocabulary and metadata; every method
delegates down to the package that owns the work (training, scoring, generation, saving)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from bachnet.core.aliases import PathLike
from bachnet.errors import InputError
from bachnet.generation.compose import generate as compose
from bachnet.generation.config import DEFAULT_METHOD, GenerationConfig, Method, SamplerSpec
from bachnet.generation.fill import fill
from bachnet.generation.harmonize import FermataSpec, MelodySpec, harmonize
from bachnet.generation.rules import RulesSpec
from bachnet.model import saving, scoring
from bachnet.model.config import ModelConfig, TrainConfig
from bachnet.model.narrow import narrowed_weights
from bachnet.model.networks import meter_weights, network_for, phrase_weights
from bachnet.model.pretrained import resolve
from bachnet.model.protocol import LanguageModel
from bachnet.model.saving import ModelFileError
from bachnet.music.chorale import Chorale
from bachnet.music.keys import Key
from bachnet.music.ranges import RangesSpec
from bachnet.music.vocab import Vocabulary
from bachnet.training import fit as fitting
from bachnet.training.fit import History

__all__ = ["BachNet", "ModelFileError"]


class BachNet:
    """A chorale language model: predicts the next token of a flattened S,A,T,B stream.

    Args:
        config: the architecture (defaults: the original BachNet's 5.66 M-parameter network).
        vocab: the token vocabulary; its size must equal ``config.vocab_size``.
        metadata: free-form facts saved with the model (corpus hash, metrics, command).

    Examples:
        >>> net = BachNet(ModelConfig(lstm_units=(32,), embedding_dim=8, dense_units=16))
        >>> net.keras_model.output_shape
        (None, None, 47)
        >>> BachNet().count_params()  # doctest: +SKIP
        5663663
    """

    def __init__(
        self,
        config: ModelConfig | None = None,
        vocab: Vocabulary | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config or ModelConfig()
        self.vocab = vocab or Vocabulary()
        if self.vocab.size != self.config.vocab_size:
            raise InputError(
                f"the vocabulary has {self.vocab.size} ids but config.vocab_size is "
                f"{self.config.vocab_size}"
            )
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.network = network_for(self.config)
        self.keras_model = self.network.build()

    def __repr__(self) -> str:
        units = "x".join(str(u) for u in self.config.lstm_units)
        kind = self.config.architecture
        return f"<BachNet {kind} {units}, {self.count_params():,} parameters>"

    def with_meters(self) -> BachNet:
        """This ``bar_lstm`` model as a ``meter_lstm`` one with its weights, to be fine-tuned on
        pieces in their own metres (`bachnet.model.networks.meter_weights`); its vocabulary
        and metadata are kept. ``bachnet train --init jsb-bar --architecture meter_lstm``.

        Raises:
            InputError: the model is not a ``bar_lstm``.

        Examples:
            >>> import keras, numpy as np
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(architecture="bar_lstm", lstm_units=(8,), embedding_dim=4)
            >>> bar = BachNet(config)
            >>> meter = bar.with_meters()
            >>> meter.config.architecture
            'meter_lstm'
            >>> ids = np.array([[0] * 64 + [37, 32, 29, 13] * 8])
            >>> bool(np.allclose(bar.logits(ids), meter.logits(ids), atol=1e-6))  # 4/4: the same
            True
        """
        return self._become("bar_lstm", "meter_lstm", meter_weights)

    def with_phrases(self) -> BachNet:
        """This ``meter_lstm`` model as a ``phrase_lstm`` one with its weights and a phrase
        embedding of zeros (`bachnet.model.networks.phrase_weights`): it predicts as before
        until fine-tuned on pieces with their fermatas. Its vocabulary and metadata are kept.
        ``bachnet train --init jsb-keys --architecture phrase_lstm``.

        Raises:
            InputError: the model is not a ``meter_lstm``.

        Examples:
            >>> import keras, numpy as np
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(architecture="meter_lstm", lstm_units=(8,), embedding_dim=4)
            >>> meter = BachNet(config)
            >>> phrase = meter.with_phrases()
            >>> ids = np.array([[0] * 64 + [37, 32, 29, 13] * 8])
            >>> planned = phrase.network.encode(ids, "4/4", [70])
            >>> bool(np.allclose(meter.logits(ids), phrase.logits(planned), atol=1e-6))
            True
        """
        return self._become("meter_lstm", "phrase_lstm", phrase_weights)

    def _become(self, source: str, target: str, transfer: Callable[[Any, Any], None]) -> BachNet:
        """This ``source`` model as a ``target`` one, its weights given by ``transfer``; its
        vocabulary and metadata kept.

        Raises:
            InputError: the model is not a ``source``.
        """
        if self.config.architecture != source:
            raise InputError(
                f"only a {source} model becomes a {target} one; this is a "
                f"{self.config.architecture}"
            )
        config = dataclasses.replace(self.config, architecture=target)
        converted = BachNet(config, self.vocab, metadata=self.metadata)
        transfer(self.keras_model, converted.keras_model)
        return converted

    def with_shifts(self, shifts: Sequence[int]) -> BachNet:
        """This model reading every piece at each of ``shifts`` semitones at once and
        averaging what the copies predict (`bachnet.model.transposed`): an ensemble of one
        network with its own weights, nothing trained. ``()`` reads each piece once again.
        Its vocabulary and metadata are kept. Calibrate (`calibrate`) before, not after.

        Raises:
            InputError: ``shifts`` without 0, repeated, beyond an octave, or a ``step_lstm``.

        Examples:
            >>> import keras, numpy as np
            >>> keras.utils.set_random_seed(0)
            >>> net = BachNet(ModelConfig(architecture="beat_lstm", lstm_units=(8,),
            ...                           embedding_dim=4))
            >>> three = net.with_shifts((-1, 0, 1))
            >>> three.config.shifts, three.count_params() == net.count_params()
            ((-1, 0, 1), True)
            >>> probs = np.exp(three.logits([[0] * 16 + [37, 32, 29, 13]]))
            >>> bool(np.allclose(probs.sum(-1), 1.0, atol=1e-5))
            True
        """
        config = dataclasses.replace(self.config, shifts=tuple(int(s) for s in shifts))
        converted = BachNet(config, self.vocab, metadata=self.metadata)
        converted.keras_model.set_weights(self.keras_model.get_weights())
        return converted

    def narrowed(self, units: Sequence[int], chorales: Iterable[Chorale]) -> BachNet:
        """This model with ``units`` LSTM units per layer: the units that send most on over
        ``chorales`` kept with their weights, the mean of what the others sent folded into the
        biases (`bachnet.model.narrow`). Fine-tune after: ``bachnet train --init MODEL
        --lstm-units 360,360``. Its vocabulary and metadata are kept.

        Raises:
            InputError: a ``step_lstm``, a model with shifts, ``units`` of the wrong length or
                wider than the present layers, or no chorales.

        Examples:
            >>> import keras, numpy as np
            >>> keras.utils.set_random_seed(0)
            >>> net = BachNet(ModelConfig(architecture="beat_lstm", lstm_units=(8, 8),
            ...                           embedding_dim=4, dense_units=4))
            >>> piece = Chorale([[72, 67, 64, 48], [74, 67, 62, 43]] * 4)
            >>> narrow = net.narrowed((6, 8), [piece])
            >>> narrow.config.lstm_units, narrow.count_params() < net.count_params()
            ((6, 8), True)
            >>> same = net.narrowed((8, 8), [piece])  # nothing dropped: the same predictions
            >>> ids = np.array([[0] * 16 + [37, 32, 29, 13] * 4])
            >>> bool(np.allclose(net.logits(ids), same.logits(ids), atol=1e-5))
            True
        """
        weights = narrowed_weights(self, units, chorales)
        config = dataclasses.replace(self.config, lstm_units=tuple(int(u) for u in units))
        converted = BachNet(config, self.vocab, metadata=self.metadata)
        for weight in converted.keras_model.weights:
            weight.assign(weights[weight.path])
        return converted

    def count_params(self) -> int:
        """Number of weights.

        Examples:
            >>> import keras
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16)
            >>> net = BachNet(config)
            >>> net.count_params()
            891
        """
        return int(self.keras_model.count_params())

    # ------------------------------------------------------------------------------ training
    def fit(
        self,
        train: Iterable[Chorale],
        valid: Iterable[Chorale] | None = None,
        *,
        config: TrainConfig | None = None,
        run_dir: PathLike | None = None,
        verbose: int | str = "auto",
        teachers: Sequence[LanguageModel] = (),
    ) -> History:
        """Train on chorales; see `bachnet.training.fit.train` for every detail.

        ``teachers`` are the models ``config.teachers`` names, loaded (knowledge distillation).

        Examples:
            >>> train = Dataset.jsb().split("train")  # doctest: +SKIP
            >>> net.fit(train, config=TrainConfig(epochs=1))  # doctest: +SKIP
            >>> names = ("jsb-bar", "jsb-voice")
            >>> teachers = [BachNet.from_pretrained(n) for n in names]  # doctest: +SKIP
            >>> config = TrainConfig(epochs=40, teachers=names)  # doctest: +SKIP
            >>> net.fit(train, config=config, teachers=teachers)  # doctest: +SKIP
        """
        return fitting.train(
            self, train, valid, config=config, run_dir=run_dir, verbose=verbose, teachers=teachers
        )

    # ---------------------------------------------------------------------------- evaluation
    def logits(self, tokens: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Logits for every position of a ``(batch, time)`` array of token ids (inference mode).

        This is the original BachNet's ``predict_next_token`` building block:
        ``logits(ids)[:, -1]`` are the next-token logits after re-reading the whole context.

        Args:
            tokens: token ids, ``(batch, time)`` or one ``(time,)`` sequence.

        Returns:
            Float32 logits of shape ``(batch, time, vocab)``.

        Examples:
            >>> import keras
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16)
            >>> net = BachNet(config)
            >>> logits = net.logits([[0, 0, 0, 0, 37, 32, 29, 13]])
            >>> logits.shape, logits.dtype
            ((1, 8, 47), dtype('float32'))
        """
        return scoring.logits(self, tokens)

    def evaluate(self, chorales: Iterable[Chorale], *, batch_size: int = 16) -> dict[str, float]:
        """Loss (nats per token), accuracy and perplexity over whole chorales.

        Each chorale is read from its first token to its last in one pass, so every token
        after the first is scored exactly once, given *all* the tokens of its chorale before
        it (no window limit: the LSTM carries its state through the piece). The first token of
        each chorale has no context and is not scored. Perplexity is ``exp(loss)``.
        ``loss`` pools every token; ``loss_per_chorale`` averages each chorale's own mean
        (TonicNet's way, for lining up with papers that report it).

        Raises:
            InputError: no chorales, or a note outside the vocabulary.

        Examples:
            >>> net.evaluate(Dataset.jsb().split("test"))  # doctest: +SKIP
            {'loss': 0.41, 'loss_per_chorale': 0.40, 'accuracy': 0.87, 'perplexity': 1.51, ...}
        """
        return scoring.evaluate(self, chorales, batch_size=batch_size)

    def calibrate(self, chorales: Iterable[Chorale], *, batch_size: int = 16) -> dict[str, float]:
        """Temperature scaling: fit one temperature to ``chorales``, fold it into the weights.

        A network trained with dropout tends to be a little too sure of itself. This finds
        the temperature ``T`` that minimises the loss of `evaluate` on ``chorales`` (pass the
        validation split, never the test split) and divides the output layer's kernel and
        bias by it, so the logits are ``logits / T`` from then on, in every use (evaluation,
        generation, saving), with no new setting to carry. The most likely token never
        changes, so accuracy stays the same. Recorded in ``metadata["calibration"]``
        (temperatures multiply when it is called again). Guo et al., "On Calibration of
        Modern Neural Networks", ICML 2017.

        Returns:
            ``temperature``, ``loss_before``, ``loss_after`` (nats per token on
            ``chorales``) and ``tokens``.

        Raises:
            InputError: no chorales, or a note outside the vocabulary.

        Examples:
            >>> net.calibrate(Dataset.jsb().split("valid"))  # doctest: +SKIP
            {'temperature': 1.08, 'loss_before': 0.3887, 'loss_after': 0.3872, 'tokens': 74184.0}
        """
        return scoring.calibrate(self, chorales, batch_size=batch_size)

    # ---------------------------------------------------------------------------- generation
    @overload
    def generate(
        self,
        prompt: Chorale | None = None,
        *,
        steps: int = 64,
        sampler: SamplerSpec = "top_p",
        num_samples: Literal[1] = 1,
        seed: int | None = None,
        include_prompt: bool = True,
        constraint: npt.ArrayLike | None = None,
        voice_ranges: RangesSpec | bool = True,
        rules: RulesSpec = "default",
        key: str | Key | None = None,
        cadence: bool = True,
        phrases: Sequence[float] | str | None = None,
        fermatas: str | Sequence[str | float] | None = None,
        meter: str = "4/4",
        form: str | None = None,
        particles: int = 1,
        config: GenerationConfig | None = None,
    ) -> Chorale: ...

    @overload
    def generate(
        self,
        prompt: Chorale | None = None,
        *,
        steps: int = 64,
        sampler: SamplerSpec = "top_p",
        num_samples: int,
        seed: int | None = None,
        include_prompt: bool = True,
        constraint: npt.ArrayLike | None = None,
        voice_ranges: RangesSpec | bool = True,
        rules: RulesSpec = "default",
        key: str | Key | None = None,
        cadence: bool = True,
        phrases: Sequence[float] | str | None = None,
        fermatas: str | Sequence[str | float] | None = None,
        meter: str = "4/4",
        form: str | None = None,
        particles: int = 1,
        config: GenerationConfig | None = None,
    ) -> Chorale | list[Chorale]: ...

    def generate(
        self,
        prompt: Chorale | None = None,
        *,
        steps: int = 64,
        sampler: SamplerSpec = "top_p",
        num_samples: int = 1,
        seed: int | None = None,
        include_prompt: bool = True,
        constraint: npt.ArrayLike | None = None,
        voice_ranges: RangesSpec | bool = True,
        rules: RulesSpec = "default",
        key: str | Key | None = None,
        cadence: bool = True,
        phrases: Sequence[float] | str | None = None,
        fermatas: str | Sequence[str | float] | None = None,
        meter: str = "4/4",
        form: str | None = None,
        particles: int = 1,
        config: GenerationConfig | None = None,
    ) -> Chorale | list[Chorale]:
        """Compose: continue ``prompt`` by ``steps`` 16th notes; see
        `bachnet.generation.compose.generate`.

        The settings come as keywords or as one `bachnet.generation.config.GenerationConfig`
        (``config=``), not both; ``num_samples``, ``seed`` and ``constraint`` belong to the
        call. Without ``num_samples`` the result is one `Chorale`. ``phrases`` plans the
        phrases and fermatas (lengths in quarters, or ``"auto"``: Bach's), ``fermatas``
        the same plan by where each fermata falls (``"2.3, 4.3, 7.1"``, bar.beat), ``meter``
        the time signature (``"3/4"`` is written in phrases), ``form="AAB"`` bar form,
        ``particles`` draws each piece as that many drafts and carries on those that make the
        cadences likely (see `bachnet.generation.config.GenerationConfig`).

        Examples:
            >>> BachNet.from_pretrained().generate(steps=64, seed=1)  # doctest: +SKIP
            <Chorale 'bachnet chorale': 64 steps (16 quarters)>
            >>> BachNet.from_pretrained().generate(phrases=[8, 8, 12, 8]).fermatas  # doctest: +SKIP
            (28, 60, 108, 140)
            >>> net = BachNet.from_pretrained()  # doctest: +SKIP
            >>> net.generate(fermatas="2.3, 4.3, 7.1").fermatas  # doctest: +SKIP
            (28, 60, 100)
        """
        settings = GenerationConfig.either(
            config,
            steps=steps,
            sampler=sampler,
            include_prompt=include_prompt,
            voice_ranges=voice_ranges,
            rules=rules,
            key=key,
            cadence=cadence,
            phrases=phrases if phrases is None or isinstance(phrases, str) else tuple(phrases),
            fermatas=fermatas,
            meter=meter,
            form=form,
            particles=particles,
        )
        return compose(
            self, prompt, settings, num_samples=num_samples, seed=seed, constraint=constraint
        )

    @overload
    def harmonize(
        self,
        soprano: MelodySpec | None = None,
        *,
        bass: MelodySpec | None = None,
        fermatas: FermataSpec | None = None,
        sampler: SamplerSpec = "top_p",
        rules: RulesSpec = "default",
        seed: int | None = None,
        num_samples: Literal[1] = 1,
        candidates: int = 8,
        method: Method = "rerank",
        voice_ranges: RangesSpec | bool = True,
        filler: str | None = None,
        gibbs_steps: int | None = None,
        config: GenerationConfig | None = None,
    ) -> Chorale: ...

    @overload
    def harmonize(
        self,
        soprano: MelodySpec | None = None,
        *,
        bass: MelodySpec | None = None,
        fermatas: FermataSpec | None = None,
        sampler: SamplerSpec = "top_p",
        rules: RulesSpec = "default",
        seed: int | None = None,
        num_samples: int,
        candidates: int = 8,
        method: Method = "rerank",
        voice_ranges: RangesSpec | bool = True,
        filler: str | None = None,
        gibbs_steps: int | None = None,
        config: GenerationConfig | None = None,
    ) -> Chorale | list[Chorale]: ...

    def harmonize(
        self,
        soprano: MelodySpec | None = None,
        *,
        bass: MelodySpec | None = None,
        fermatas: FermataSpec | None = None,
        sampler: SamplerSpec = "top_p",
        rules: RulesSpec = "default",
        seed: int | None = None,
        num_samples: int = 1,
        candidates: int = 8,
        method: Method = "rerank",
        voice_ranges: RangesSpec | bool = True,
        filler: str | None = None,
        gibbs_steps: int | None = None,
        config: GenerationConfig | None = None,
    ) -> Chorale | list[Chorale]:
        """Write the other voices around a given soprano, bass or both; see
        `bachnet.generation.harmonize.harmonize`.

        The settings come as keywords or as one `bachnet.generation.config.GenerationConfig`
        (``config=``), not both. Without ``num_samples`` the result is one `Chorale`.

        Examples:
            >>> net = BachNet.from_pretrained()  # doctest: +SKIP
            >>> net.harmonize([72] * 8 + [74] * 8 + [76] * 16, seed=0)  # doctest: +SKIP
            <Chorale 'bachnet harmonisation': 32 steps (8 quarters)>
        """
        settings = GenerationConfig.either(
            config,
            sampler=sampler,
            rules=rules,
            candidates=candidates,
            method=method,
            voice_ranges=voice_ranges,
            filler=filler,
            gibbs_steps=gibbs_steps,
        )
        return harmonize(
            self,
            soprano,
            settings,
            bass=bass,
            fermatas=fermatas,
            num_samples=num_samples,
            seed=seed,
        )

    @overload
    def fill(
        self,
        piece: Chorale,
        mask: npt.ArrayLike,
        *,
        sampler: SamplerSpec = "top_p",
        rules: RulesSpec = "default",
        seed: int | None = None,
        num_samples: Literal[1] = 1,
        candidates: int = 8,
        method: Method = "auto",
        voice_ranges: RangesSpec | bool = True,
        filler: str | None = None,
        gibbs_steps: int | None = None,
        config: GenerationConfig | None = None,
    ) -> Chorale: ...

    @overload
    def fill(
        self,
        piece: Chorale,
        mask: npt.ArrayLike,
        *,
        sampler: SamplerSpec = "top_p",
        rules: RulesSpec = "default",
        seed: int | None = None,
        num_samples: int,
        candidates: int = 8,
        method: Method = "auto",
        voice_ranges: RangesSpec | bool = True,
        filler: str | None = None,
        gibbs_steps: int | None = None,
        config: GenerationConfig | None = None,
    ) -> Chorale | list[Chorale]: ...

    def fill(
        self,
        piece: Chorale,
        mask: npt.ArrayLike,
        *,
        sampler: SamplerSpec = "top_p",
        rules: RulesSpec = "default",
        seed: int | None = None,
        num_samples: int = 1,
        candidates: int = 8,
        method: Method = "auto",
        voice_ranges: RangesSpec | bool = True,
        filler: str | None = None,
        gibbs_steps: int | None = None,
        config: GenerationConfig | None = None,
    ) -> Chorale | list[Chorale]:
        """Rewrite the notes of ``piece`` where ``mask`` (``(steps, 4)``, True = write) is set,
        keeping every other note; see `bachnet.generation.fill.fill`.

        ``method="auto"`` (the default) is the method measured best for the mask
        (`bachnet.generation.config.choose_method`): the filler's ``"gibbs"`` when notes are
        kept after or below the written ones, the left-to-right ``"rerank"`` otherwise. With
        ``config=``, its ``method`` decides.

        Examples:
            >>> import numpy as np
            >>> net = BachNet.from_pretrained()  # doctest: +SKIP
            >>> mask = np.zeros((len(piece), 4), bool); mask[64:96] = True  # doctest: +SKIP
            >>> net.fill(piece, mask, seed=0)  # bars 5-6 in every voice  # doctest: +SKIP
        """
        settings = GenerationConfig.either(
            config,
            sampler=sampler,
            rules=rules,
            candidates=candidates,
            method=DEFAULT_METHOD if config is not None and method == "auto" else method,
            voice_ranges=voice_ranges,
            filler=filler,
            gibbs_steps=gibbs_steps,
        )
        return fill(self, piece, mask, settings, num_samples=num_samples, seed=seed)

    # ------------------------------------------------------------------------- save and load
    def save_pretrained(self, directory: PathLike) -> Path:
        """Write ``config.json`` and ``model.weights.h5`` into ``directory``, atomically.

        ``config.json`` holds the architecture, the vocabulary, the weights file's sha256 and
        ``metadata`` (corpus hash, training command, metrics). Nothing is pickled.

        Returns:
            The folder.

        Examples:
            >>> import tempfile
            >>> import keras
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16)
            >>> net = BachNet(config)
            >>> folder = net.save_pretrained(tempfile.mkdtemp())
            >>> sorted(path.name for path in folder.iterdir())
            ['config.json', 'model.weights.h5']
        """
        return saving.save(self, directory)

    @classmethod
    def load(cls, directory: PathLike) -> BachNet:
        """Load a folder written by `save_pretrained`, checking the weights' sha256.

        Raises:
            ModelFileError: a missing, truncated, tampered or mismatched file.

        Examples:
            >>> import tempfile
            >>> import keras
            >>> keras.utils.set_random_seed(0)
            >>> config = ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4, window=16)
            >>> net = BachNet(config)
            >>> loaded = BachNet.load(net.save_pretrained(tempfile.mkdtemp()))
            >>> loaded.config == net.config, np.allclose(loaded.logits([1, 2]), net.logits([1, 2]))
            (True, True)
        """
        return saving.load(
            directory, lambda config, vocab, metadata: cls(config, vocab, metadata=metadata)
        )

    @classmethod
    def from_pretrained(cls, name_or_path: PathLike | None = None) -> BachNet:
        """A trained model: the bundled default, a named preset, a URL or a local folder.

        Args:
            name_or_path: ``None`` for the default preset shipped inside the package (works
                offline); a preset name (see ``bachnet models``); an ``https://`` URL of a
                ``.zip`` of a saved model; or a folder written by `save_pretrained`.

        Raises:
            ModelFileError: bad files. ValueError: an unknown name.

        Examples:
            >>> net = BachNet.from_pretrained()  # doctest: +SKIP
        """
        return cls.load(resolve(name_or_path))
