"""The language model: Embedding -> LSTM, GRU or RNN (one or more layers) -> Dense to the vocabulary.

As torch's word_language_model (Zaremba et al. 2014): dropout on the
embedding output, between recurrent layers and before the output layer, and
optionally the output layer tied to the embedding matrix. It trains on (N, T)
id batches with state carried between batches, and it implements the decoding
protocol (:class:`seqdl.decoding.StepModel`) plus a batched, cache-free
``step_batch``, so any registered decoder can generate from it. Saved as
``.npz`` arrays plus a JSON header holding the architecture and the
vocabulary; never pickled.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Sequence

import numpy as np

from ..decoding import log_softmax
from ..errors import ModelFileError, ParameterError, ShapeError
from ..io import check_finite_arrays, load_npz, save_npz
from ..nn.base import DEFAULT_DTYPE, make_rng
from ..nn.kernels.products import times_transpose
from ..nn.layers import Dense, Dropout, Embedding
from ..nn.recurrent import GRU, LSTM, RNN
from ..resources import check_memory
from ..text.vocab import TokenVocabulary

__all__ = ["CELLS", "FORMAT", "FORMAT_VERSION", "LanguageModel"]

#: ``format`` value in the JSON header of a saved language model.
FORMAT = "seqdl-lm"
#: 2 added cell, dropout and tie_weights and names the recurrent arrays as torch; version 1 files still load.
FORMAT_VERSION = 2
#: The recurrent layer behind each ``cell`` name.
CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class _TiedDense(Dense):
    """The output layer of a tied model: its weight is the embedding matrix; only the bias is its own."""

    def __init__(self, embedding: Embedding, dtype, rng):
        super().__init__(embedding.embedding_dim, embedding.num_embeddings, dtype=dtype, rng=rng)
        del self.params["weight"], self.grads["weight"]
        self.embedding = embedding

    @property
    def weight(self) -> np.ndarray:
        return self.embedding.params["weight"]

    @property
    def weight_grad(self) -> np.ndarray:
        return self.embedding.grads["weight"]


class LanguageModel:
    """A token-level recurrent language model over ``vocab``.

    ``layers`` (embedding, recurrent layer, output) is what the optimisers and
    :func:`seqdl.nn.clip.clip_grad_norm` work on; with ``tie_weights`` the
    shared matrix appears once (in the embedding) and gets both gradients.
    ``rng`` holds the random state of every dropout mask.

    For decoding, a state is the recurrent layer's state for one row: ``(h, c)``
    each (num_layers, 1, hidden_size) for the LSTM, ``h`` for GRU and RNN.
    ``step`` and ``step_batch`` always return new arrays, so a decoder may keep
    many states.
    """

    def __init__(self, vocab: TokenVocabulary, embedding_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, *, cell: str = "lstm", dropout: float = 0.0, tie_weights: bool = False,
                 dtype=DEFAULT_DTYPE, seed=None, workers: int = 1):
        for name, value in (("embedding_dim", embedding_dim), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(name, f"must be an integer of at least 1, got {value!r}")
        if cell not in CELLS:
            raise ParameterError("cell", f"must be one of {', '.join(CELLS)}, got {cell!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ParameterError("dropout", f"must be in [0, 1), got {dropout}")
        if tie_weights and embedding_dim != hidden_size:
            raise ParameterError("tie_weights", f"needs embedding_dim == hidden_size, got embedding_dim "
                                                f"{embedding_dim} and hidden_size {hidden_size}")
        _check_size(len(vocab), int(embedding_dim), int(hidden_size), int(num_layers), cell, None)
        self.vocab = vocab
        self.embedding_dim, self.hidden_size, self.num_layers = int(embedding_dim), int(hidden_size), int(num_layers)
        self.cell, self.dropout, self.tie_weights = cell, float(dropout), bool(tie_weights)
        #: The initialisation's and every dropout mask's random state.
        self.rng = make_rng(seed)
        #: The header of the file this model was loaded from (empty for a new model).
        self.meta: dict[str, Any] = {}
        self.embedding = Embedding(len(vocab), self.embedding_dim, dtype=dtype, rng=self.rng)
        self.rnn = CELLS[cell](self.embedding_dim, self.hidden_size, self.num_layers, dropout=self.dropout,
                               dtype=dtype, rng=self.rng, workers=workers)
        # Unit threads made whole LSTM training steps 1.13x faster (H=256, V=65, 2 workers) but leave BLAS one
        # thread around the layer. An estimate from multiply-add counts, not measured: they stay ahead while
        # the output layer's 3VH per token is at most ~0.2 of the recurrent layers' 12H^2 L, V <= 0.8 H L,
        # i.e. for character-level models; a word-level model keeps BLAS threads.
        self.rnn.auto_units = 5 * len(vocab) <= 4 * self.hidden_size * self.num_layers
        if self.tie_weights:
            self.output = _TiedDense(self.embedding, dtype, self.rng)
        else:
            self.output = Dense(self.hidden_size, len(vocab), dtype=dtype, rng=self.rng)
        self.output.matmul = self.rnn.matmul_rows  # the output products on the recurrent layer's threads
        self._drop_in = Dropout(self.dropout, rng=self.rng)
        self._drop_out = Dropout(self.dropout, rng=self.rng)
        self.layers = [self.embedding, self.rnn, self.output]
        self._fused = self._time_major = False  # how the last forward ran (see _forward)

    @property
    def workers(self) -> int:
        """Threads the recurrent layer splits its batch rows over (see :mod:`seqdl.nn.recurrent`)."""
        return self.rnn.workers

    @workers.setter
    def workers(self, value: int) -> None:
        self.rnn.workers = max(1, int(value))

    @property
    def vocab_size(self) -> int:
        """Number of token ids (the decoding protocol's ``vocab_size``)."""
        return len(self.vocab)

    def config(self) -> dict:
        """Everything that defines the architecture (the constructor's keyword arguments but vocab)."""
        return {"cell": self.cell, "embedding_dim": self.embedding_dim, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "dropout": self.dropout, "tie_weights": self.tie_weights}

    def get_rng_state(self) -> dict:
        """The dropout random state, JSON-serialisable, for a checkpoint."""
        return copy.deepcopy(self.rng.bit_generator.state)

    def set_rng_state(self, state: dict) -> None:
        """Restore a state from :meth:`get_rng_state`, so a resumed run draws the same masks."""
        self.rng.bit_generator.state = copy.deepcopy(state)

    # -- training -------------------------------------------------------------

    def _check_ids(self, ids) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise ShapeError(f"the language model expects integer ids of shape (N, T), got {ids.dtype} {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size})")
        return ids

    def forward(self, ids: np.ndarray, state=None, training: bool = False):
        """``(logits (N, T, vocab), final state)`` for ids (N, T), starting from ``state`` (zeros if None).

        When the batch has at least as many tokens as the vocabulary and no
        embedding dropout applies, the embedding and the first layer's input
        projection are fused: each token's pre-activations are looked up in
        ``E @ W_ih^T`` (vocab x G*H) instead of projecting every embedded
        input, which saves three large matrix products per batch and gives
        the same result.
        """
        ids = self._check_ids(ids)
        with self.rnn.threads():  # re-entrant: the output projection runs on the layer's threads too
            # The fused path stays time-major up to the logits: transposing (T, N, V) logits and their gradient
            # is cheaper than (T, N, H) hidden states when V < H, and no dearer otherwise.
            x, state = self._forward(ids, state, training, time_major=True)
            logits = self.output.forward(x, training=training)
            if self._time_major:
                logits = np.ascontiguousarray(logits.transpose(1, 0, 2))
            return logits, state

    def forward_hidden(self, ids: np.ndarray, state=None, training: bool = False):
        """``(the output layer's input (N, T, hidden), final state)``: :meth:`forward` without the output layer."""
        ids = self._check_ids(ids)
        # With threaded recurrent layers (workers > 1), the projections here run under the same threads section.
        with self.rnn.threads():
            return self._forward(ids, state, training)

    def _forward(self, ids: np.ndarray, state, training: bool, time_major: bool = False):
        """The output layer's input, batch-first, or time-major (T, N, H) when asked and fused (``_time_major``)."""
        self._fused = ids.size >= self.vocab_size and not (training and self.dropout > 0)
        self._time_major = self._fused and time_major
        if self._fused:
            table = self.rnn.project_input(self.embedding.params["weight"])
            self._ids = np.ascontiguousarray(ids.T)
            x, state = self.rnn.forward_projected(table, state, training, ids=self._ids, time_major=self._time_major)
        else:
            x = self._drop_in.forward(self.embedding.forward(ids, training=training), training=training)
            x, state = self.rnn.forward(x, state, training)
        return self._drop_out.forward(x, training=training), state

    def backward(self, grad_logits: np.ndarray, grad_state=None) -> None:
        """Accumulate every parameter gradient from d loss / d logits (and optionally d loss / d final state)."""
        with self.rnn.threads():
            if self._time_major:
                grad_logits = np.ascontiguousarray(np.asarray(grad_logits).transpose(1, 0, 2))
            self._backward_hidden(self.output.backward(grad_logits), grad_state)

    def backward_hidden(self, grad_hidden: np.ndarray, grad_state=None) -> None:
        """:meth:`backward` from d loss / d (the output of :meth:`forward_hidden`); the output layer is the caller's."""
        with self.rnn.threads():
            if self._time_major:  # after forward(): the recurrent layer's output was time-major
                grad_hidden = np.ascontiguousarray(np.asarray(grad_hidden).transpose(1, 0, 2))
            self._backward_hidden(grad_hidden, grad_state)

    def _backward_hidden(self, grad_hidden: np.ndarray, grad_state) -> None:
        g = self._drop_out.backward(grad_hidden)
        if not self._fused:
            self.embedding.backward(self._drop_in.backward(self.rnn.backward(g, grad_state)))
            return
        # The gate gradients summed per token, so both input-side gradients are small products.
        per_token = self.rnn.backward_projected(g, grad_state)
        self.rnn.grads["weight_ih_l0"] += per_token.T @ self.embedding.params["weight"]
        self.embedding.grads["weight"] += per_token @ self.rnn.params["weight_ih_l0"]

    def zero_grad(self) -> None:
        """Clear every gradient."""
        for layer in self.layers:
            layer.zero_grad()

    # -- the decoding protocol (cache-free) -----------------------------------

    def start(self, prompt: Sequence[int]):
        """Read ``prompt`` (at least one id); log-probabilities of the next token and the state."""
        ids = np.asarray(prompt, dtype=np.int64)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError("the language model needs a prompt of at least one token")
        ids = self._check_ids(ids[None, :])
        out, state = self.rnn.infer(self.embedding.params["weight"][ids])
        return log_softmax(self._logits(out[:, -1]))[0], state

    def step(self, state, token: int):
        """Feed ``token`` after ``state``; next log-probabilities and a new state (``state`` is untouched)."""
        log_probs, states = self.step_batch([state], [token])
        return log_probs[0], states[0]

    def step_batch(self, states: Sequence, tokens: Sequence[int]):
        """Feed ``tokens[i]`` after ``states[i]`` for every row at once: ``(log_probs (B, V) float64, new states)``.

        One matrix product per layer for the whole batch, nothing kept for
        backward; the same results as :meth:`step` row by row.
        """
        ids = self._check_ids(np.asarray(tokens, dtype=np.int64).reshape(-1, 1))
        if len(states) != ids.shape[0]:
            raise ValueError(f"step_batch got {len(states)} states for {ids.shape[0]} tokens")
        if not len(states):
            return np.empty((0, self.vocab_size)), []
        if len(states) == 1:
            batch = states[0]
        elif self.rnn.state_size == 2:
            batch = tuple(np.concatenate([s[i] for s in states], axis=1) for i in range(2))
        else:
            batch = np.concatenate(list(states), axis=1)
        out, new = self.rnn.step(self.embedding.params["weight"][ids[:, 0]], batch)
        log_probs = log_softmax(self._logits(out))
        if self.rnn.state_size == 2:
            rows = [(new[0][:, i:i + 1], new[1][:, i:i + 1]) for i in range(ids.shape[0])]
        else:
            rows = [new[:, i:i + 1] for i in range(ids.shape[0])]
        return log_probs, rows

    def _logits(self, h: np.ndarray) -> np.ndarray:
        """Output-layer logits of hidden states (B, H), cache-free."""
        logits = times_transpose(h, self.output.weight)
        logits += self.output.params["bias"]
        return logits

    # -- files ----------------------------------------------------------------

    def _named_layers(self):
        return (("embedding", self.embedding), ("rnn", self.rnn), ("output", self.output))

    def save(self, path: str | os.PathLike, meta: dict | None = None) -> None:
        """Write weights, architecture and vocabulary to ``path`` atomically (npz + JSON header).

        A tied matrix is stored once (as ``embedding.weight``).
        """
        arrays = {f"{name}.{key}": value for name, layer in self._named_layers() for key, value in layer.params.items()}
        header = {**(meta or {}), "format": FORMAT, "version": FORMAT_VERSION, "level": self.vocab.level,
                  "tokens": self.vocab.tokens, **self.config()}
        save_npz(path, arrays, header)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LanguageModel:
        """The model saved by :meth:`save` (version 1 or 2), its header in ``meta``; else :class:`ModelFileError`."""
        arrays, meta = load_npz(path)
        if meta.get("format") != FORMAT:
            raise ModelFileError("not a seqdl language model", path=str(path))
        version = meta.get("version")
        if version not in (1, FORMAT_VERSION):
            raise ModelFileError(f"language model format version {version!r} is not supported "
                                 f"(this seqdl reads 1 and {FORMAT_VERSION})", path=str(path))
        if version == 1:
            arrays = _from_version_1(arrays)
        try:
            if not isinstance(meta["tokens"], list) or not all(isinstance(t, str) for t in meta["tokens"]):
                raise TypeError("tokens must be strings")
            vocab = TokenVocabulary(meta["tokens"], meta["level"])
            config = {"cell": "lstm", "dropout": 0.0, "tie_weights": False,
                      **{k: meta[k] for k in ("cell", "dropout", "tie_weights") if k in meta}}
            sizes = [meta[k] for k in ("embedding_dim", "hidden_size", "num_layers")]
            if not isinstance(config["tie_weights"], bool) or isinstance(config["dropout"], bool) or \
                    not isinstance(config["dropout"], (int, float)):
                raise TypeError("tie_weights must be true or false and dropout a number")
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sizes):
                raise TypeError("embedding_dim, hidden_size and num_layers must be positive integers")
            _check_size(len(vocab), *sizes, config["cell"], path)
            model = cls(vocab, *sizes, **config)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupt language model header ({exc})", path=str(path)) from None
        expected = {f"{name}.{key}": value for name, layer in model._named_layers() for key, value in layer.params.items()}
        for name, value in expected.items():
            stored = arrays.get(name)
            if stored is None or stored.shape != value.shape or not np.issubdtype(stored.dtype, np.floating):
                raise ModelFileError(f"missing or misshapen array {name}", path=str(path))
        check_finite_arrays({name: arrays[name] for name in expected}, path)
        for name, value in expected.items():
            value[...] = arrays[name]
        model.meta = meta
        return model


def _from_version_1(arrays: dict) -> dict:
    """Version 1 named the recurrent arrays ``lstm{k}.weight_ih``; version 2 names them ``rnn.weight_ih_l{k}``."""
    renamed = {}
    for name, value in arrays.items():
        layer, _, key = name.partition(".")
        if layer.startswith("lstm") and layer[4:].isdigit():
            name = f"rnn.{key}_l{int(layer[4:])}"
        renamed[name] = value
    return renamed


def _check_size(vocab: int, embedding_dim: int, hidden_size: int, num_layers: int, cell: str, path=None) -> None:
    """Refuse sizes (given, or read from the header of the file ``path``) that could not fit in memory, before allocating."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}")
    gates = CELLS[cell].cell_class.gates * hidden_size
    recurrent = gates * (embedding_dim + hidden_size + 2) + (num_layers - 1) * gates * (2 * hidden_size + 2)
    parameters = vocab * embedding_dim + recurrent + vocab * (hidden_size + 1)
    # parameters and gradients, float32
    where = "" if path is None else f"{path}: "
    check_memory(8.0 * parameters, f"{where}a language model of {parameters:,} parameters")
