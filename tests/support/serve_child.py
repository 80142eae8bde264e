"""`omne serve` on the hashing test embedder (starts in about a second): python -m tests.support.serve_child
STORE PORT [--require-keys]."""

from __future__ import annotations

import sys
from pathlib import Path

from omne.config import OmneConfig
from omne.service.server import serve
from omne.testing import HashEmbedder

if __name__ == "__main__":
    serve(OmneConfig.from_env(Path(sys.argv[1])), port=int(sys.argv[2]), require_keys="--require-keys" in sys.argv,
          log_level="warning", embedder=HashEmbedder())
