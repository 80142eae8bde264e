"""What read-path stages need to know about a record, cached per store: its immutable fields only."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Sequence
from omne.storage.protocols import RecordFacts
from omne.types import Scope

__all__ = ["FactsCache", "RecordFacts"]


class FactsCache:
    """A bounded, thread-safe LRU of RecordFacts by record id (the caller checks scope on every read).

    Equal scopes are stored as one object, so a reader can memoise scope checks by identity.
    """

    def __init__(self, max_records: int = 50_000) -> None:
        self.max_records = max_records
        self._facts: OrderedDict[str, RecordFacts] = OrderedDict()
        self._scopes: dict[Scope, Scope] = {}
        self._lock = threading.Lock()

    def get(self, ids: Sequence[str]) -> dict[str, RecordFacts]:
        with self._lock:
            found = {i: f for i in ids if (f := self._facts.get(i)) is not None}
            for i in found:
                self._facts.move_to_end(i)
            return found

    def put(self, facts: Sequence[RecordFacts]) -> list[RecordFacts]:
        """Cache facts; returns them as cached (equal scopes as one shared object)."""
        cached: list[RecordFacts] = []
        with self._lock:
            if len(self._scopes) > self.max_records:
                self._scopes.clear()
            for fact in facts:
                scope = self._scopes.setdefault(fact.scope, fact.scope)
                if scope is not fact.scope:
                    fact = dataclasses.replace(fact, scope=scope)
                self._facts[fact.id] = fact
                self._facts.move_to_end(fact.id)
                cached.append(fact)
            while len(self._facts) > self.max_records:
                self._facts.popitem(last=False)
        return cached
