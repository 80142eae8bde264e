"""Multimodal ingest: documents, images and AutoGen messages into scoped, searchable records.

    result = await core.ingest("report.pdf", scope=Scope(user="u1"))
    hits = await search_files(core, "turbine failure", scope=Scope(user="u1"), modality="document")
    print(format_location(hits[0].record))  # report.pdf, page 2

Only the names re-exported here are API (imported on first use: the converters and the pipeline load only when
used, so the ingest models stay light for the HTTP client).
"""

from __future__ import annotations

from omne._lazy import lazy_exports

_EXPORTS = {
    "BlobStore": "blobs", "to_markdown": "convert", "ImageContext": "images",
    "format_location": "location", "search_files": "location",
    "MessageRecords": "messages", "records_from_content": "messages", "records_from_message": "messages",
    "BINARY_TAG": "tags", "DOCUMENT_TAG": "tags", "IMAGE_TAG": "tags", "PROVENANCE_KEY": "tags",
    "FileFormat": "models", "ImageDetails": "models", "IngestOptions": "models", "IngestResult": "models",
    "Location": "models", "Provenance": "models", "SourceInfo": "models",
    "ingest": "pipeline",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
