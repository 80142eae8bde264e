"""AgentSpec: who an agent is in the store, and the scopes that follow from it.

Scopes (a hard partition, enforced by the store):
- recall messages and context summaries: (user, agent, session); searched over (user, agent)
- archival records and private blocks: (user, agent)
- the team's copy of a conversation: (team, user, session); searched over (team, user)
- shared blocks: (team, user) — every agent of the team serving that user sees one block
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omne.errors import InvalidInputError
from omne.types import Scope
from omne.validation import describe_validation_error, make_scope

from omne.agents.blocks import BlockSpec

if TYPE_CHECKING:
    from omne.verbs import CoreVerbs

DEFAULT_SESSION = "default"


def server_url_of(core: object) -> str | None:
    """The URL of the server a core is a client of (None: a store opened in this process)."""
    from omne.service.client import RemoteMemoryCore

    return core.url if isinstance(core, RemoteMemoryCore) else None


def location_of(core: CoreVerbs) -> dict[str, str | None]:
    """How a component config names the store of an open core: `store_dir`, or `server_url` for a client of a
    server (never its API key: a loading process takes that from $OMNE_API_KEY)."""
    url = server_url_of(core)
    if url is not None:
        return {"store_dir": None, "server_url": url}
    return {"store_dir": str(core.config.store_dir), "server_url": None}


class AgentSpec(BaseModel):
    """Who an agent is in the store: enough to reopen its memory (component configs carry this)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str
    user: str | None = None
    session: str = DEFAULT_SESSION
    team: str | None = None
    blocks: list[BlockSpec] = Field(default_factory=list)
    store_dir: str | None = None  # for configs loaded in another process; None: $OMNE_STORE / default
    server_url: str | None = None  # the `omne serve` holding the store (else $OMNE_URL, else store_dir); the API
    # key is never saved: it comes from $OMNE_API_KEY in the loading process

    @classmethod
    def build(cls, **fields: object) -> AgentSpec:
        """An AgentSpec from user input; a bad field is an InvalidInputError naming it."""
        try:
            spec = cls.model_validate(fields)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid agent memory: {describe_validation_error(exc)}") from None
        spec.agent_scope  # noqa: B018 - validates the scope values now, not on first use
        return spec

    @property
    def agent_scope(self) -> Scope:
        """The agent's own scope (user, agent): archival records, private blocks; recall is searched here."""
        return make_scope(user=self.user, agent=self.agent)

    @property
    def session_scope(self) -> Scope:
        """Where this session's messages and context summaries are written (user, agent, session)."""
        return make_scope(user=self.user, agent=self.agent, session=self.session)

    @property
    def team_scope(self) -> Scope | None:
        """The scope every member of the team shares for this user (None outside a team)."""
        return make_scope(team=self.team, user=self.user) if self.team else None

    @property
    def team_session_scope(self) -> Scope | None:
        """Where the team's copy of this session's messages is written (None outside a team)."""
        return make_scope(team=self.team, user=self.user, session=self.session) if self.team else None
