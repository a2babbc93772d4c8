"""One-time export of the local MiniLM model to an optimised ONNX graph, fp32 or int8 (offline, cached)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)
progress = logging.getLogger("deskhand.progress")  # one-line progress shown on the terminal by the CLI

# Bump when the export recipe changes so stale cached graphs are not reused.
EXPORT_RECIPE = 3
NUM_HEADS = 12
HIDDEN_SIZE = 384


def cached_model_path(model_dir: Path, cache_dir: Path, *, quantized: bool) -> Path:
    """Where the exported graph for this model, recipe and onnxruntime version lives."""
    import onnxruntime

    weights = model_dir / "model.safetensors"
    size = weights.stat().st_size if weights.exists() else 0
    kind = "int8" if quantized else "fp32"
    tag = f"minilm-r{EXPORT_RECIPE}-ort{onnxruntime.__version__}-{size}-{kind}.onnx"
    return cache_dir / tag


def ensure_onnx_model(model_dir: Path, cache_dir: Path, *, quantized: bool) -> Path:
    """Return the cached ONNX graph, exporting it from the local model directory on first use."""
    target = cached_model_path(model_dir, cache_dir, quantized=quantized)
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    log.info("exporting the embedding model to ONNX (one time): %s", target)
    progress.info("preparing the embedding model (once, about a minute)…")
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".export-") as tmp:
        work = Path(tmp)
        raw = work / "raw.onnx"
        steps = 3 if quantized else 2
        _export_torch_graph(model_dir, raw)
        progress.info("  1/%d exported", steps)
        optimised = work / "optimised.onnx"
        _optimise(raw, optimised)
        progress.info("  2/%d optimised", steps)
        result = optimised
        if quantized:
            result = work / "int8.onnx"
            _quantize(optimised, result)
            progress.info("  3/%d quantised", steps)
        # Another process may have finished first; os.replace keeps whichever lands last, both are equal.
        os.replace(result, target)
    return target


def _export_torch_graph(model_dir: Path, out: Path) -> None:
    """Trace encoder + mean pooling + L2 normalisation into one graph."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    # Eager attention exports a pattern onnxruntime's optimiser fuses into its Attention kernel.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class _Pooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = tokenizer(["a short sample", "another sample sentence"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["embedding"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(
            _Pooled(model),
            tuple(sample[name] for name in names),
            str(out),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _optimise(source: Path, out: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(str(source), model_type="bert", num_heads=NUM_HEADS, hidden_size=HIDDEN_SIZE)
    model.save_model_to_file(str(out))


def _quantize(source: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel weights keep cosine agreement with fp32 at ~0.99 (per-tensor drops it to ~0.94).
    # The quantiser logs a "consider pre-processing" hint through the root logger on every run; mute it.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            str(source),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
