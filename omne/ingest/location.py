"""Showing where a retrieved chunk came from, and searching one modality."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from omne.ingest.tags import DOCUMENT_TAG, IMAGE_TAG, PROVENANCE_KEY
from omne.types import Record, RecordKind, Scope

if TYPE_CHECKING:
    from omne.core import MemoryCore
    from omne.retrieval.models import SearchHit

Modality = Literal["document", "image", "any"]
_MODALITY_TAGS: dict[str, list[str]] = {"document": [DOCUMENT_TAG], "image": [IMAGE_TAG],
                                        "any": [DOCUMENT_TAG, IMAGE_TAG]}


def format_location(record: Record) -> str:
    """Where an ingested record comes from, e.g. 'report.pdf, page 3' or 'data.xlsx, sheet "Q1", rows 2-9'.

    Records not written by ingest give an empty string.
    """
    if PROVENANCE_KEY not in record.metadata:  # not ingested: no need to build the ingest models
        return ""
    from omne.ingest.models import Provenance

    prov = Provenance.of(record)
    if prov is None:
        return ""
    loc = prov.location
    parts = [prov.source.file]
    if prov.image is not None:
        parts.append(f"image {prov.image.width}x{prov.image.height}")
    if loc.member is not None:
        parts.append(f"member {loc.member}")
    if loc.page is not None:
        parts.append(f"page {loc.page}")
    if loc.slide is not None:
        parts.append(f"slide {loc.slide}")
    if loc.sheet is not None:
        parts.append(f'sheet "{loc.sheet}"')
    if loc.section:
        parts.append(f'section "{loc.section}"')
    if loc.rows is not None:
        parts.append(f"rows {_span(loc.rows)}")
    elif loc.lines is not None:
        parts.append(f"lines {_span(loc.lines)}")
    return ", ".join(parts)


def _span(span: tuple[int, int]) -> str:
    return str(span[0]) if span[0] == span[1] else f"{span[0]}-{span[1]}"


async def search_files(core: MemoryCore, query: str, *, scope: Scope, modality: Modality = "any",
                       top_k: int = 10) -> list[SearchHit]:
    """Hybrid search restricted to ingested documents, images, or both; format hits with format_location."""
    if modality not in _MODALITY_TAGS:
        from omne.errors import InvalidInputError

        raise InvalidInputError(f"modality must be one of {', '.join(_MODALITY_TAGS)}; got {modality!r}")
    return await core.search(query, scope=scope, top_k=top_k, kinds=[RecordKind.DOCUMENT],
                             tags=_MODALITY_TAGS[modality])
