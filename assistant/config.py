"""Settings: read from ``ASSISTANT_*`` environment variables or passed in; data only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The collection read from ``seeds_dir`` (today's seeds) unless another is named.
DEFAULT_COLLECTION = "papers"
# A collection's name: also the prefix of its Chroma collections, whose names Chroma limits.
COLLECTION_NAME = r"[A-Za-z0-9][A-Za-z0-9_]{0,31}"


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


class Settings(BaseSettings):
    """Everything that changes what the assistant builds or how it answers."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", extra="ignore", populate_by_name=True
    )

    seeds_dir: Path = Field(
        Path("seeds"),
        description="Folder of the default collection's files: listings, BibTeX, RIS, CSL-JSON.",
    )
    storage_dir: Path = Field(
        Path("storage"), description="Folder for the Chroma index, its manifest and model caches."
    )
    chroma_host: str | None = Field(
        None, description="Host of a Chroma server (`chroma run`); unset = embedded Chroma."
    )
    chroma_port: int = Field(8000, description="Port of the Chroma server.")
    collection: str = Field(
        DEFAULT_COLLECTION,
        pattern=f"^{COLLECTION_NAME}$",
        description="Which collection: `papers` (the default, read from seeds_dir) or a name of "
        "your own (letters, digits, `_`), read from collections_dir/NAME and indexed apart "
        "under storage_dir/collections/NAME. Also the prefix of its Chroma collections.",
    )
    collections_dir: Path = Field(
        Path("collections"), description="Folder holding one folder per named collection."
    )
    query_expansion: bool | None = Field(
        None,
        description="Expand queries with the lexicon and glossary in assistant/data, which were "
        "written for the default collection. Unset: on for `papers`, off for other collections "
        "(they are searched by the embedding model and BM25 alone).",
    )
    embed_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="CPU threads for the embedding model.",
    )
    embed_batch_size: int = Field(32, description="Chunks embedded per model call.")
    chunk_tokens: int = Field(
        512,
        description="Most word pieces per chunk (header included). Measured on the development "
        "queries, one chunk per abstract beat 220-token windows; MiniLM embeds the first 256, "
        "BM25 reads all of it.",
    )
    llm_backend: Literal["local", "openai"] = Field(
        "local", description="`local`: bundled GGUF model via llama.cpp; `openai`: any endpoint."
    )
    llm_mode: Literal["phrase", "write"] | None = Field(
        None,
        description="`phrase`: the model writes one checked sentence, evidence the rest (tiny "
        "models); `write`: the model writes the answer, every sentence checked. Unset: "
        "`phrase` for local, `write` for openai.",
    )
    local_model: str | None = Field(
        None,
        description="Model of the local backend for every task: a bundled model "
        "(`qwen2.5-coder-0.5b`, `qwen2.5-coder-1.5b`, `smollm2-135m`) or a GGUF file. Unset: "
        "the measured default per task (llm.TASK_MODELS).",
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: _cache_home() / "research-assistant" / "models",
        description="Where bundled models are joined from their parts, once per machine (kept "
        "apart from storage_dir, which is rebuilt freely).",
    )
    llm_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="CPU threads for each local llama.cpp server.",
    )
    openai_model: str = Field("gpt-4o-mini", description="Model name sent to the endpoint.")
    openai_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("openai_base_url", "OPENAI_BASE_URL"),
        description="URL of the OpenAI-compatible endpoint (`OPENAI_BASE_URL`); unset = OpenAI.",
    )
    openai_api_key: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices("openai_api_key", "OPENAI_API_KEY"),
        description="Key for the endpoint (`OPENAI_API_KEY`); never logged or shown.",
    )
    llm_timeout: float = Field(60.0, description="Seconds before an LLM request gives up.")
    ui_host: str = Field(
        "127.0.0.1",
        description="Address the web page serves on; beyond loopback only with `ui_auth`.",
    )
    ui_port: int = Field(7860, ge=1, le=65535, description="Port of the web page.")
    ui_auth: SecretStr | None = Field(
        None, description="`user:password` the web page asks for; never logged or shown."
    )

    @property
    def collection_dir(self) -> Path:
        """The folder of the collection's files: seeds_dir, or collections_dir/NAME."""
        if self.collection == DEFAULT_COLLECTION:
            return Path(self.seeds_dir)
        return Path(self.collections_dir) / self.collection
