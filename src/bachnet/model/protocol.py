"""What the rest of the library reads from a model: the `LanguageModel` protocol.

Generation and training are written against this protocol, never against `bachnet.BachNet`
(as transformers' generation code never imports a model class), so the facade can sit on top
and delegate down.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bachnet.core.aliases import PathLike
from bachnet.model.config import ModelConfig
from bachnet.model.networks import Network
from bachnet.music.vocab import Vocabulary

if TYPE_CHECKING:
    import keras

__all__ = ["LanguageModel"]


class LanguageModel(Protocol):
    """A network over chorale tokens with its vocabulary and metadata.

    Attributes:
        config: the architecture.
        vocab: the token vocabulary (ids <-> MIDI pitches, voice ranges).
        metadata: free-form facts saved with the model (corpus hash, metrics, calibration).
        network: the model type: builds the Keras model and owns its one-token ``step``.
        keras_model: the built Keras model, ids ``(batch, time)`` -> logits.

    Examples:
        >>> import bachnet
        >>> net: LanguageModel = bachnet.BachNet(
        ...     bachnet.ModelConfig(lstm_units=(8,), embedding_dim=4, dense_units=4)
        ... )
        >>> isinstance(net.vocab, Vocabulary)
        True
    """

    config: ModelConfig
    vocab: Vocabulary
    metadata: dict[str, Any]
    network: Network
    keras_model: keras.Model

    def count_params(self) -> int:
        """Number of weights."""
        ...

    def save_pretrained(self, directory: PathLike) -> Path:
        """Write the model folder (see `bachnet.model.saving.save`)."""
        ...
