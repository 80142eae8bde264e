"""Structure-aware chunking of markdown: headings start chunks, tables split by rows (header kept),
long paragraphs split at sentences, then at token windows. Tokens are counted with the embedder's own
tokenizer (omne.tokenizer.word_pieces), so no chunk is longer than the model reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from omne.tokenizer import WordPieces

_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


@dataclass
class Block:
    """A structural unit of markdown: a heading, a table, a fenced code block or a paragraph."""

    kind: Literal["heading", "table", "code", "text"]
    lines: list[str]
    start: int  # 0-based line index of the first line in the section
    level: int = 0

    @property
    def end(self) -> int:
        return self.start + len(self.lines) - 1

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def parse_blocks(markdown: str) -> Iterator[Block]:
    """Split markdown into blocks, keeping each block's line numbers."""
    current: Block | None = None
    fence: str | None = None
    for number, line in enumerate(markdown.split("\n")):
        if fence is not None:
            assert current is not None
            current.lines.append(line)
            if line.strip().startswith(fence):
                yield current
                current, fence = None, None
            continue
        stripped = line.strip()
        opened = _FENCE.match(line)
        heading = _HEADING.match(line)
        kind: Literal["table", "text"] = "table" if stripped.startswith("|") else "text"
        if current is not None and (not stripped or opened or heading or current.kind != kind):
            yield current
            current = None
        if not stripped:
            continue
        if opened:
            current, fence = Block("code", [line], number), opened.group(1)
        elif heading:
            yield Block("heading", [heading.group(2).strip()], number, level=len(heading.group(1)))
        elif current is None:
            current = Block(kind, [line], number)
        else:
            current.lines.append(line)
    if current is not None:
        yield current


@dataclass
class ChunkDraft:
    """One chunk before it becomes a record: text, heading path, table rows, source lines, tokens."""

    text: str
    tokens: int
    section: str | None = None
    rows: tuple[int, int] | None = None
    lines: tuple[int, int] | None = None  # 1-based, within the section's text


@dataclass
class _Pending:
    parts: list[str] = field(default_factory=list)
    tokens: int = 0
    first: int | None = None
    last: int | None = None
    rows: tuple[int, int] | None = None
    has_body: bool = False

    def add(self, text: str, tokens: int, first: int, last: int, body: bool = True,
            rows: tuple[int, int] | None = None) -> None:
        self.parts.append(text)
        self.tokens += tokens
        self.first = first if self.first is None else self.first
        self.last = last
        self.has_body = self.has_body or body
        if rows is not None:
            self.rows = rows if self.rows is None else (self.rows[0], rows[1])


class Chunker:
    """Turns one section of markdown into chunks of at most `max_tokens` tokens."""

    def __init__(self, counter: WordPieces, max_tokens: int = 200, overlap: int = 24) -> None:
        self.counter = counter
        self.max_tokens = max_tokens
        self.overlap = overlap

    def chunks(self, markdown: str) -> Iterator[ChunkDraft]:
        headings: list[tuple[int, str]] = []
        pending = _Pending()
        for block in parse_blocks(markdown):
            if block.kind == "heading":
                if pending.has_body:
                    yield self._emit(pending, headings)
                    pending = _Pending()
                headings = [h for h in headings if h[0] < block.level] + [(block.level, block.text)]
                pending.add("#" * block.level + " " + block.text, self.counter.count(block.text),
                            block.start, block.end, body=False)
                continue
            tokens = self.counter.count(block.text)
            if pending.tokens + tokens <= self.max_tokens and not (block.kind == "table" and pending.rows):
                pending.add(block.text, tokens, block.start, block.end, rows=self._rows_of(block))
                continue
            if pending.has_body:
                yield self._emit(pending, headings)
                pending = _Pending()
            pieces = list(self._split(block))
            for text, piece_tokens, first, last, rows in pieces[:-1]:
                part = _Pending()
                if pending.parts:  # headings waiting for their first body go with the first piece
                    part, pending = pending, _Pending()
                part.add(text, piece_tokens, first, last, rows=rows)
                yield self._emit(part, headings)
            if pieces:
                text, piece_tokens, first, last, rows = pieces[-1]
                if pending.has_body and pending.tokens + piece_tokens > self.max_tokens:
                    yield self._emit(pending, headings)
                    pending = _Pending()
                pending.add(text, piece_tokens, first, last, rows=rows)
        if pending.parts:
            yield self._emit(pending, headings)

    def _emit(self, pending: _Pending, headings: list[tuple[int, str]]) -> ChunkDraft:
        assert pending.first is not None and pending.last is not None
        return ChunkDraft(text="\n\n".join(pending.parts), tokens=pending.tokens,
                          section=" > ".join(h[1] for h in headings) or None, rows=pending.rows,
                          lines=(pending.first + 1, pending.last + 1))

    @staticmethod
    def _table_parts(block: Block) -> tuple[list[str], list[str]]:
        if len(block.lines) >= 2 and _TABLE_SEPARATOR.match(block.lines[1]):
            return block.lines[:2], block.lines[2:]
        return [], block.lines

    def _rows_of(self, block: Block) -> tuple[int, int] | None:
        if block.kind != "table":
            return None
        header, rows = self._table_parts(block)
        if not rows:
            return None
        first = 2 if header else 1
        return first, first + len(rows) - 1

    def _split(self, block: Block) -> Iterator[tuple[str, int, int, int, tuple[int, int] | None]]:
        """Pieces of a block that is too long: (text, tokens, first line, last line, rows)."""
        if block.kind == "table":
            yield from self._split_table(block)
        else:
            yield from self._split_text(block.text, block.start)

    def _split_table(self, block: Block) -> Iterator[tuple[str, int, int, int, tuple[int, int] | None]]:
        """Row groups of a long table, each under the table's header. A section-label row (one filled cell)
        never ends a group, and a group that starts under a label repeats that label after the header."""
        header, rows = self._table_parts(block)
        header_text = "\n".join(header)
        header_tokens = self.counter.count(header_text) if header else 0
        budget = max(self.max_tokens - header_tokens, self.max_tokens // 2)
        row_base = 2 if header else 1
        line_base = block.start + len(header)
        group: list[tuple[int, str, int]] = []  # (row index, line, tokens)
        label: tuple[str, int] | None = None  # the section label over the current row, and its tokens
        context: tuple[str, int] | None = None  # the label repeated at the top of the current group

        def flush(part: list[tuple[int, str, int]],
                  above: tuple[str, int] | None) -> tuple[str, int, int, int, tuple[int, int]]:
            lead = [above[0]] if above else []
            text = "\n".join(header + lead + [line for _, line, _ in part])
            tokens = header_tokens + (above[1] if above else 0) + sum(t for _, _, t in part)
            first, last = part[0][0], part[-1][0]
            return text, tokens, line_base + first, line_base + last, (row_base + first, row_base + last)

        for index, line in enumerate(rows):
            tokens = self.counter.count(line)
            used = sum(t for _, _, t in group) + (context[1] if context else 0)
            if group and used + tokens > budget:
                carried: list[tuple[int, str, int]] = []
                while group and _is_label_row(group[-1][1]) and len(group) > 1:
                    carried.insert(0, group.pop())  # a label goes with the rows under it
                yield flush(group, context)
                group = carried
                context = label if not carried and label is not None else None
            if _is_label_row(line):
                label = (line, tokens)
            if tokens > budget:  # one enormous row: cut it into windows, each with the header
                for start, end in self.counter.windows(line, budget, self.overlap):
                    piece = line[start:end]
                    yield ("\n".join(header + [piece]), header_tokens + self.counter.count(piece),
                           line_base + index, line_base + index, (row_base + index, row_base + index))
                continue
            group.append((index, line, tokens))
        if group:
            yield flush(group, context)

    def _split_text(self, text: str, start_line: int) -> Iterator[tuple[str, int, int, int, None]]:
        sentences: list[tuple[int, int]] = []  # char spans
        position = 0
        for match in _SENTENCE_END.finditer(text):
            sentences.append((position, match.start()))
            position = match.end()
        sentences.append((position, len(text)))
        spans: list[tuple[int, int]] = []
        current: tuple[int, int] | None = None
        current_tokens = 0
        for start, end in sentences:
            tokens = self.counter.count(text[start:end])
            if current is not None and current_tokens + tokens <= self.max_tokens:
                current, current_tokens = (current[0], end), current_tokens + tokens
                continue
            if current is not None:
                spans.append(current)
            if tokens <= self.max_tokens:
                current, current_tokens = (start, end), tokens
            else:
                spans.extend((start + a, start + b) for a, b in
                             self.counter.windows(text[start:end], self.max_tokens, self.overlap))
                current, current_tokens = None, 0
        if current is not None:
            spans.append(current)
        for start, end in spans:
            piece = text[start:end].strip()
            if piece:
                yield (piece, self.counter.count(piece), start_line + text[:start].count("\n"),
                       start_line + text[:end].count("\n"), None)


def _is_label_row(line: str) -> bool:
    """A table row with exactly one filled cell in a wider table: a section label such as '| Fruit | | |'."""
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
    return len(cells) > 1 and sum(1 for c in cells if c) == 1
