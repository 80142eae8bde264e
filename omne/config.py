"""Configuration of a memory store (where it lives, which backends serve it, input limits), and the one
reader of YAML config files (configs/*.yaml) every layer uses."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator, ValidationError

from omne.errors import InvalidInputError

M = TypeVar("M", bound=BaseModel)


def read_yaml_mapping(path: Path | str, *, what: str, example: str) -> dict[str, Any]:
    """The YAML mapping in `path` (YAML includes JSON); one-line InvalidInputError naming `what`, the file and the fix.

    `what` names the file's role in messages ("model config"); `example` is the file to copy, or any hint.
    """
    import yaml

    file = Path(path)
    if not file.is_file():
        raise InvalidInputError(f"{what} {file} does not exist; see {example}")
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{what} {file} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(loaded, dict):
        raise InvalidInputError(f"{what} {file} must be a YAML mapping; see {example}")
    return loaded


def validate_config(model: type[M], data: Any, *, what: str) -> M:
    """`data` as a pydantic config model; the first problem as one line (`what: field.path: message`)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInputError(f"{what}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def default_store_dir() -> Path:
    """`$OMNE_STORE`, else a folder under the user's data directory."""
    env = os.environ.get("OMNE_STORE")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("omne")) / "store"


# the embedded index builds the HNSW graph of its newest points once this many are not in one (VectorConfig's
# `auto_optimize_after`, and EdgeVectorIndex's default)
DEFAULT_AUTO_OPTIMIZE_AFTER = 25_000


class VectorConfig(BaseModel):
    """Which vector index serves the store: Qdrant Edge in-process, or a Qdrant server."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["edge", "server"] = "edge"
    url: str | None = None  # Qdrant server URL when backend == "server"
    api_key: str | None = None
    collection: str = "omne"
    timeout_s: float = 5.0
    # edge: once this many points are not yet in an HNSW graph, the next write builds theirs (one bounded
    # build per batch of new points, see EdgeVectorIndex); None = only `MemoryCore.optimize()` builds
    auto_optimize_after: int | None = Field(default=DEFAULT_AUTO_OPTIMIZE_AFTER, ge=1)


class LimitsConfig(BaseModel):
    """Input limits enforced at the edge."""

    model_config = ConfigDict(extra="forbid")

    max_text_bytes: int = Field(default=1_000_000, ge=1)
    max_batch: int = Field(default=10_000, ge=1)
    max_file_bytes: int = Field(default=100_000_000, ge=1)  # files given to core.ingest
    # writes stop with StorageError below this much free disk (the embedded index would crash on a full disk)
    min_free_bytes: int = Field(default=64 * 1024 * 1024, ge=0)


class OmneConfig(BaseModel):
    """Everything `MemoryCore.open` needs; all fields have working offline defaults."""

    model_config = ConfigDict(extra="forbid")

    store_dir: Path = Field(default_factory=default_store_dir)

    @field_validator("store_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()
    vectors: VectorConfig = Field(default_factory=VectorConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    # The record log's database: None keeps it in `store_dir` (SQLite); a postgresql:// URL puts it in PostgreSQL
    # (records, edges, jobs, context state, API keys), shared by every process and server that names it.
    database: str | None = None

    @field_validator("database")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("database must be a postgresql://user:password@host:port/dbname URL "
                             "(leave it unset for the embedded SQLite log in the store directory)")
        return value or None

    @classmethod
    def from_env(cls, store_dir: Path | str | None = None) -> OmneConfig:
        """Defaults overridden by `OMNE_QDRANT_URL` / `OMNE_QDRANT_API_KEY`, `OMNE_DATABASE_URL` and an explicit
        store."""
        vectors = VectorConfig()
        url = os.environ.get("OMNE_QDRANT_URL")
        if url:
            vectors = VectorConfig(backend="server", url=url, api_key=os.environ.get("OMNE_QDRANT_API_KEY"))
        kwargs: dict[str, Any] = {"vectors": vectors}
        database = os.environ.get("OMNE_DATABASE_URL")
        if database:
            kwargs["database"] = validate_config(OmneConfig, {"database": database},
                                                 what="OMNE_DATABASE_URL").database
        if store_dir is not None:
            kwargs["store_dir"] = Path(store_dir)
        return cls(**kwargs)
