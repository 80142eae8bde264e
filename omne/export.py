"""Writing an export (JSON lines) to a text stream: shared by the embedded core and the HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO


async def write_lines(lines: AsyncIterator[str], out: IO[str]) -> int:
    """Write each line of an export to `out`; returns the number of lines written."""
    written = 0
    async for line in lines:
        out.write(line)
        written += 1
    return written
