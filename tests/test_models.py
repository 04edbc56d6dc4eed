"""Bundled models: parts joined in order, the pinned hash checked, one clear line on failure."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from assistant import models
from assistant.errors import ModelError


def _fake_model(root: Path, parts: list[bytes], sha: str | None = None) -> models.BundledModel:
    """A model carried by little packages ``fakepartN`` (each ``data/partNN.bin``) under root."""
    for i, data in enumerate(parts, 1):
        folder = root / f"fakepart{i}"
        (folder / "data").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "data" / f"part{i:02d}.bin").write_bytes(data)
    joined = b"".join(parts)
    return models.BundledModel(
        name="fake",
        filename="fake.gguf",
        prefix="fakepart",
        parts=len(parts),
        version="1.0",
        size=len(joined),
        sha256=sha or hashlib.sha256(joined).hexdigest(),
    )


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [m for m in sys.modules if m.startswith("fakepart")]:
        del sys.modules[name]


def test_parts_are_joined_in_order_once(packages: Path, tmp_path: Path) -> None:
    model = _fake_model(packages, [b"GGUF-first-", b"second-", b"third"])
    cache = tmp_path / "cache"
    path = models.assemble(model, cache)
    assert path.read_bytes() == b"GGUF-first-second-third"
    stamp = path.stat().st_mtime_ns
    # A second use trusts the stamp instead of joining again.
    assert models.assemble(model, cache).stat().st_mtime_ns == stamp


def test_a_hash_mismatch_is_refused_with_the_fix(packages: Path, tmp_path: Path) -> None:
    model = _fake_model(packages, [b"aaa", b"bbb"], sha="0" * 64)
    with pytest.raises(ModelError) as e:
        models.assemble(model, tmp_path / "cache")
    message = str(e.value)
    assert (
        "does not match its pinned hash" in message and "pip install --force-reinstall" in message
    )
    assert "\n" not in message
    assert not list((tmp_path / "cache").iterdir())  # nothing half-written is left behind


def test_a_missing_part_names_its_package(packages: Path, tmp_path: Path) -> None:
    model = _fake_model(packages, [b"aaa", b"bbb"])
    (packages / "fakepart2" / "data" / "part02.bin").unlink()
    with pytest.raises(ModelError) as e:
        models.assemble(model, tmp_path / "cache")
    assert "part 2 of 2" in str(e.value) and "fakepart2==1.0" in str(e.value)
    assert "\n" not in str(e.value)


def test_the_bundled_models_are_installed_and_verified() -> None:
    for model in models.BUNDLED.values():
        path = models.assemble(model)
        assert path.stat().st_size == model.size


def test_an_unknown_local_model_says_what_is_accepted(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither a bundled model"):
        models.resolve(str(tmp_path / "nothing.gguf"))
