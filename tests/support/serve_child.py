"""`omne serve` on the hashing test embedder (starts in about a second): python -m tests.support.serve_child
STORE PORT [--require-keys] [--worker [--model-config FILE]]. With --worker it runs the construction worker of
`omne serve --worker` (the CLI's own), polling every 0.1 s."""

from __future__ import annotations

import sys
from pathlib import Path

from omne.cli.construction import serve_worker
from omne.config import OmneConfig
from omne.service.server import serve
from omne.testing import HashEmbedder

if __name__ == "__main__":
    args = sys.argv
    model_config = Path(args[args.index("--model-config") + 1]) if "--model-config" in args else None
    background = [serve_worker(model_config, 0.1)] if "--worker" in args else []
    serve(OmneConfig.from_env(Path(args[1])), port=int(args[2]), require_keys="--require-keys" in args,
          log_level="info" if "--worker" in args else "warning", embedder=HashEmbedder(), background=background)
