"""Settings: read from ``ASSISTANT_*`` environment variables or passed in; data only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything that changes what the assistant builds or how it answers."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    seeds_dir: Path = Field(Path("seeds"), description="Folder of paper listing files (*.txt).")
    storage_dir: Path = Field(
        Path("storage"), description="Folder for the Chroma index, its manifest and model caches."
    )
    chroma_host: str | None = Field(
        None, description="Host of a Chroma server (`chroma run`); unset = embedded Chroma."
    )
    chroma_port: int = Field(8000, description="Port of the Chroma server.")
    collection: str = Field("papers", description="Base name of the Chroma collection.")
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
    top_k: int = Field(10, description="Papers returned by a search.")
    llm_backend: Literal["local", "openai"] = Field(
        "local", description="`local`: bundled GGUF model via llama.cpp; `openai`: any endpoint."
    )
    llm_mode: Literal["phrase", "write"] | None = Field(
        None,
        description="`phrase`: the model writes one checked sentence, evidence the rest (tiny "
        "models); `write`: the model writes the answer, every sentence checked. Unset: "
        "`phrase` for local, `write` for openai.",
    )
    local_model: Path | None = Field(
        None, description="GGUF file for the local backend; unset = bundled SmolLM2-135M."
    )
    openai_model: str = Field("gpt-4o-mini", description="Model name sent to the endpoint.")
    llm_timeout: float = Field(60.0, description="Seconds before an LLM request gives up.")
