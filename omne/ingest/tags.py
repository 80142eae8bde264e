"""The names ingest writes on records: its metadata key and its tags (no models, so readers stay light)."""

from __future__ import annotations

PROVENANCE_KEY = "ingest"  # the one metadata key ingest owns on a record
DOCUMENT_TAG = "document"
IMAGE_TAG = "image"
BINARY_TAG = "binary"
