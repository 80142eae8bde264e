"""`omne serve` on the hashing test embedder (starts in about a second): python -m tests.support.serve_child
STORE PORT [--require-keys] [--worker [--model-config FILE]]. With --worker it runs the construction worker of
`omne serve --worker` (the CLI's own), polling every 0.1 s. With OMNE_TEST_EMBED_LOG set, every text the server
embeds is appended to that file (one JSON string a line), so a test can tell what a server embedded itself."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from omne.cli.construction import serve_worker
from omne.config import OmneConfig
from omne.service.server import serve
from omne.testing import HashEmbedder


class LoggedEmbedder(HashEmbedder):
    """The hashing embedder, appending each text it embeds to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self.path.open("a", encoding="utf-8") as out:
            out.writelines(json.dumps(text) + "\n" for text in texts)
        return super().embed(texts)


if __name__ == "__main__":
    args = sys.argv
    model_config = Path(args[args.index("--model-config") + 1]) if "--model-config" in args else None
    background = [serve_worker(model_config, 0.1)] if "--worker" in args else []
    log = os.environ.get("OMNE_TEST_EMBED_LOG")
    serve(OmneConfig.from_env(Path(args[1])), port=int(args[2]), require_keys="--require-keys" in args,
          log_level="info" if "--worker" in args else "warning",
          embedder=LoggedEmbedder(Path(log)) if log else HashEmbedder(), background=background)
