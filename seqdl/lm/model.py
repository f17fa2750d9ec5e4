"""The language model: Embedding -> LSTM (one or more layers) -> Dense to the vocabulary.

It trains on (N, T) id batches with state carried between batches, and it
implements the decoding protocol (:class:`seqdl.decoding.StepModel`), so any
registered decoder can generate from it. Saved as ``.npz`` arrays plus a JSON
header holding the sizes and the vocabulary; never pickled.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..decoding import log_softmax
from ..errors import ModelFileError, ShapeError
from ..io import load_npz, save_npz
from ..nn.base import DEFAULT_DTYPE, make_rng
from ..nn.layers import Dense, Embedding
from ..nn.recurrent import LSTM
from ..nn.recurrent_kernels import lstm_step_forward
from .kernels import scatter_add_rows
from .tokens import TokenVocabulary

#: ``format`` value in the JSON header of a saved language model.
FORMAT = "seqdl-lm"
FORMAT_VERSION = 1

State = tuple[tuple[np.ndarray, np.ndarray], ...]


def _rows_times_transpose(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``x @ weight.T`` for a few rows of ``x``, as a C-contiguous array.

    Computed as ``(weight @ x.T).T``: for a handful of rows OpenBLAS is 2-4x
    faster this way round (the long side of the product is then its M).
    """
    return np.ascontiguousarray((weight @ x.T).T)


class LanguageModel:
    """A token-level LSTM language model over ``vocab``.

    ``layers`` (in order: embedding, LSTMs, output) is what the optimisers and
    :func:`seqdl.nn.clip.clip_grad_norm` work on. For decoding, a state is a
    tuple of ``(h, c)`` pairs, one per LSTM layer, each of shape (1, hidden);
    ``step`` always returns new arrays, so a decoder may keep many states.
    """

    def __init__(self, vocab: TokenVocabulary, embedding_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, dtype=DEFAULT_DTYPE, seed=None, workers: int = 1):
        if min(embedding_dim, hidden_size, num_layers) < 1:
            raise ValueError("embedding_dim, hidden_size and num_layers must be >= 1")
        rng = make_rng(seed)
        self.vocab = vocab
        self.embedding_dim, self.hidden_size, self.num_layers = int(embedding_dim), int(hidden_size), int(num_layers)
        self.embedding = Embedding(len(vocab), self.embedding_dim, dtype=dtype, rng=rng)
        self.lstms = [LSTM(self.embedding_dim if k == 0 else self.hidden_size, self.hidden_size, dtype=dtype, rng=rng,
                           workers=workers)
                      for k in range(self.num_layers)]
        self.output = Dense(self.hidden_size, len(vocab), dtype=dtype, rng=rng)
        self.layers = [self.embedding, *self.lstms, self.output]

    @property
    def workers(self) -> int:
        """Threads each LSTM layer splits its batch rows over (see :mod:`seqdl.nn.recurrent`)."""
        return self.lstms[0].workers

    @workers.setter
    def workers(self, value: int) -> None:
        for lstm in self.lstms:
            lstm.workers = max(1, int(value))

    @property
    def vocab_size(self) -> int:
        """Number of token ids (the decoding protocol's ``vocab_size``)."""
        return len(self.vocab)

    def config(self) -> dict:
        """The sizes that rebuild this model."""
        return {"embedding_dim": self.embedding_dim, "hidden_size": self.hidden_size, "num_layers": self.num_layers}

    # -- training -------------------------------------------------------------

    def forward(self, ids: np.ndarray, state: State | None = None, training: bool = False) -> np.ndarray:
        """Logits (N, T, vocab) for ids (N, T), starting from ``state`` (zeros if None).

        The final state is left in :attr:`final_state` for the next batch.
        When the batch has at least as many tokens as the vocabulary, the
        embedding and the first LSTM's input projection are fused: each
        token's projected row is looked up in ``E @ W_ih^T`` (vocab x 4H)
        instead of projecting every embedded input, which saves three large
        matrix products per batch and gives the same result.
        """
        ids = np.asarray(ids)
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise ShapeError(f"the language model expects integer ids of shape (N, T), got {ids.dtype} {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size})")
        first = self.lstms[0]
        first_state = None if state is None else state[0]
        self._fused = ids.size >= self.vocab_size
        if self._fused:
            table = self.embedding.params["weight"] @ first.params["weight_ih"].T
            table += first.params["bias_ih"]
            table += first.params["bias_hh"]
            self._ids = np.ascontiguousarray(ids.T)
            x = first.forward_projected(table[self._ids], first_state)
        else:
            x = first.forward(self.embedding.forward(ids, training), training, state=first_state)
        for k, lstm in enumerate(self.lstms[1:], start=1):
            x = lstm.forward(x, training, state=None if state is None else state[k])
        self.final_state = tuple(lstm.final_state for lstm in self.lstms)
        return self.output.forward(x, training)

    def backward(self, grad_logits: np.ndarray) -> None:
        """Accumulate every parameter gradient from d loss / d logits."""
        g = self.output.backward(grad_logits)
        for lstm in reversed(self.lstms[1:]):
            g = lstm.backward(g)
        first = self.lstms[0]
        if not self._fused:
            self.embedding.backward(first.backward(g))
            return
        dpre = first.backward_projected(g)
        # Sum the gate gradients per token, then both input-side gradients are small products.
        per_token = np.zeros((self.vocab_size, dpre.shape[-1]), dtype=dpre.dtype)
        scatter_add_rows(per_token, self._ids.reshape(-1), dpre.reshape(-1, dpre.shape[-1]))
        first.grads["weight_ih"] += per_token.T @ self.embedding.params["weight"]
        self.embedding.grads["weight"] += per_token @ first.params["weight_ih"]

    def zero_grad(self) -> None:
        """Clear every gradient."""
        for layer in self.layers:
            layer.zero_grad()

    # -- the decoding protocol ------------------------------------------------

    def start(self, prompt: Sequence[int]) -> tuple[np.ndarray, State]:
        """Read ``prompt`` (at least one id); log-probabilities of the next token and the state."""
        ids = np.asarray(prompt, dtype=np.int64)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError("the language model needs a prompt of at least one token")
        logits = self.forward(ids[None, :])
        return log_softmax(logits[0, -1]), self.final_state

    def step(self, state: State, token: int) -> tuple[np.ndarray, State]:
        """Feed ``token`` after ``state``; next log-probabilities and a new state (``state`` is untouched)."""
        log_probs, states = self.step_batch([state], [token])
        return log_probs[0], states[0]

    def step_batch(self, states: Sequence[State], tokens: Sequence[int]) -> tuple[np.ndarray, list[State]]:
        """Feed ``tokens[i]`` after ``states[i]`` for every row at once (the decoding protocol's batched step).

        Returns ``(log_probs (B, vocab) float64, new states)``, what ``step``
        gives row by row. One lean path for both: the LSTM cell on (B, ...)
        arrays without the training bookkeeping of :meth:`forward`, so a beam
        or a set of samples costs one matrix product per weight per token.
        """
        ids = np.asarray(tokens, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size})")
        x = self.embedding.params["weight"][ids]
        layers = []
        for k, lstm in enumerate(self.lstms):
            params = lstm.params
            h = np.concatenate([state[k][0] for state in states]).astype(lstm.dtype, copy=False)
            c_prev = np.concatenate([state[k][1] for state in states]).astype(lstm.dtype, copy=False)
            gates = _rows_times_transpose(x, params["weight_ih"])
            if lstm.bias:
                gates += params["bias_ih"]
                gates += params["bias_hh"]
            recurrent = _rows_times_transpose(h, params["weight_hh"])
            c, x, tanh_c = np.empty_like(c_prev), np.empty_like(h), np.empty_like(h)
            lstm_step_forward(gates, recurrent, c_prev, c, x, tanh_c)
            layers.append((x, c))
        logits = _rows_times_transpose(x, self.output.params["weight"])
        if self.output.bias:
            logits += self.output.params["bias"]
        rows = [tuple((h[i:i + 1], c[i:i + 1]) for h, c in layers) for i in range(ids.size)]
        return log_softmax(logits), rows

    # -- files ----------------------------------------------------------------

    def save(self, path: str | os.PathLike, meta: dict | None = None) -> None:
        """Write weights, sizes and vocabulary to ``path`` atomically (npz + JSON header)."""
        arrays = {f"{name}.{key}": value for name, layer in self._named_layers() for key, value in layer.params.items()}
        header = {"format": FORMAT, "version": FORMAT_VERSION, "level": self.vocab.level,
                  "tokens": self.vocab.tokens, **self.config(), **(meta or {})}
        save_npz(path, arrays, header)

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple[LanguageModel, dict]:
        """A model saved by :meth:`save` and its header; :class:`ModelFileError` if it is not one."""
        arrays, meta = load_npz(path)
        if meta.get("format") != FORMAT:
            raise ModelFileError("not a seqdl language model", path=str(path))
        try:
            if not all(isinstance(token, str) for token in meta["tokens"]):
                raise TypeError("tokens must be strings")
            vocab = TokenVocabulary(meta["tokens"], meta["level"])
            model = cls(vocab, meta["embedding_dim"], meta["hidden_size"], meta["num_layers"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupt language model header ({exc})", path=str(path)) from None
        for name, layer in model._named_layers():
            for key, value in layer.params.items():
                stored = arrays.get(f"{name}.{key}")
                if stored is None or stored.shape != value.shape or not np.issubdtype(stored.dtype, np.floating):
                    raise ModelFileError(f"missing or misshapen array {name}.{key}", path=str(path))
                value[...] = stored
        return model, meta

    def _named_layers(self):
        yield "embedding", self.embedding
        for k, lstm in enumerate(self.lstms):
            yield f"lstm{k}", lstm
        yield "output", self.output
