"""Each scope's chain of live messages in time (NEXT edges): the one algorithm both record stores run inside
their write transactions, over the few lookups a `ChainLookups` gives it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from omne.types import Edge, EdgeKind, Record, RecordKind, Scope, stable_id


class ChainLookups(Protocol):
    """Reads and deletes of one open write transaction. A node is (record id, time)."""

    def latest_at_or_before(self, scope: Scope, when: datetime) -> tuple[str, datetime] | None:
        """The newest live message of exactly `scope` at or before `when` (ties: the latest written)."""
    def earliest(self, scope: Scope) -> tuple[str, datetime] | None:
        """The oldest live message of exactly `scope` (ties: the first written)."""
    def successor(self, record_id: str) -> tuple[str, datetime] | None:
        """The message the newest NEXT edge from `record_id` points to."""
    def predecessor_id(self, record_id: str) -> str | None:
        """The source of the newest NEXT edge into `record_id`."""
    def delete_next(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Delete the NEXT edges (src, dst)."""
    def delete_next_of(self, record_id: str) -> None:
        """Delete every NEXT edge from or to `record_id`."""


def next_edge(scope: Scope, src: str, dst: str, when: datetime) -> Edge:
    return Edge(id=stable_id(src, dst, "next"), scope=scope, src=src, dst=dst, kind=EdgeKind.NEXT, created_at=when)


def message_links(chain: ChainLookups, records: Sequence[Record]) -> list[Edge]:
    """NEXT edges merging each scope's new live messages into that exact scope's chain of messages in time.

    The new messages (time order; ties keep batch order) go after the newest live message at or before the
    first of them, or at the head when none is that old. The stretch of the stored chain that they overlap in
    time is merged with them (stored before new on equal times) and relinked, up to the first stored message
    after the last of them. So a batch committed late, the earliest one included, or one whose turns
    interleave with stored turns (two agents writing one team scope) still leaves one chain in time order.
    Run inside the insert's transaction, before the insert (which then writes the returned edges); the work is
    proportional to the overlap. The stores serialise these transactions, so concurrent writers cannot fork it."""
    groups: dict[Scope, list[Record]] = {}
    for record in records:
        if record.kind is RecordKind.MESSAGE and record.live:
            groups.setdefault(record.scope, []).append(record)
    links: list[Edge] = []
    for scope, group in groups.items():
        group = sorted(group, key=lambda r: r.when)
        first, last = group[0].when, group[-1].when
        pred = chain.latest_at_or_before(scope, first)
        node = chain.successor(pred[0]) if pred is not None else chain.earliest(scope)
        head = [pred[0]] if pred is not None else []
        overlapped: list[tuple[datetime, str]] = []  # stored (t, id) in the chain up to the new stretch's end
        while node is not None and node[1] <= last and [node[0]] != head:
            overlapped.append((node[1], node[0]))
            node = chain.successor(node[0])
        tail = [node[0]] if node is not None else []
        old_path = head + [i for _, i in overlapped] + tail
        chain.delete_next(list(zip(old_path, old_path[1:])))
        merged = sorted([(t, 0, n, i) for n, (t, i) in enumerate(overlapped)]
                        + [(r.when, 1, n, r.id) for n, r in enumerate(group)])
        ordered = head + [m[3] for m in merged] + tail
        links += [next_edge(scope, a, b, group[0].created_at) for a, b in zip(ordered, ordered[1:])]
    return links


def unchain(chain: ChainLookups, record: Record, when: datetime) -> tuple[bool, Edge | None]:
    """Take a message that stops being live out of its scope's chain (which links live messages only): its NEXT
    links go and its neighbours are to be linked to each other. Returns (whether it was chained, the bridging
    edge to write, if any)."""
    if record.kind is not RecordKind.MESSAGE:
        return False, None
    before = chain.predecessor_id(record.id)
    after = chain.successor(record.id)
    if before is None and after is None:
        return False, None
    chain.delete_next_of(record.id)
    if before is not None and after is not None:
        return True, next_edge(record.scope, before, after[0], when)
    return True, None
