"""Omne's peers (mem0, AutoGen's ChromaDBVectorMemory) on Omne's LoCoMo benchmark: `omne bench locomo --peers`.

`protocol` and `runner` (plus the `*_peer` adapters) run inside the peers' own environment and import no
`omne` module; `venv` and `side_by_side` run in Omne's. Nothing is imported here, so either side can load
this package.
"""
