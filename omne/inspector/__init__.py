"""The web memory inspector: browse, search (with explain), history, provenance, graph, blocks and jobs of a
scope, served by `omne serve` at / and by `omne inspect`."""

from omne.inspector.routes import KEY_COOKIE, error_page, inspector_router

__all__ = ["KEY_COOKIE", "error_page", "inspector_router"]
