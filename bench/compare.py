"""Side-by-side comparisons on one loaded index: rank-bm25 against bm25s on the same tokens, and
the exact faiss flat index against HNSW.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.index.tokenize import tokenize

K = 10


def _top(scores: np.ndarray, k: int = K) -> list[int]:
    """Ids of the k best positive scores; equal scores by ascending id, so both sides break ties alike."""
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return [int(i) for i in order if scores[i] > 0]


def _ms(samples: list[float]) -> dict:
    from .measure import latency

    return latency(samples)


def bm25_vs_bm25s(retriever, queries: Sequence[str]) -> dict:
    """Latency of scoring every passage plus top-10, and agreement of the top-10 lists.

    "rank_bm25" is the library's BM25Index: rank-bm25's scores (Okapi, k1=1.5, b=0.75, idf floored
    at 0.25 x mean idf) served from a sparse term x passage matrix since 2026-11-23 (rank-bm25's own
    Python loop before; results pages from before that date measure the loop); bm25s uses method
    "robertson" (the same Okapi formula; idf clamped at 0), float32, sparse matrix."""
    import bm25s

    tokens = [list(t) for t in retriever.data.passage_tokens]
    t = time.perf_counter()
    model = bm25s.BM25(k1=1.5, b=0.75, method="robertson")
    model.index(tokens, show_progress=False)
    init_s = time.perf_counter() - t
    qtokens = [tokenize(q) for q in queries]
    rank_t, rank_top, s_t, s_top = [], [], [], []
    zeros = np.zeros(len(tokens), dtype=np.float32)
    for qt in qtokens:
        t = time.perf_counter()
        rank_top.append(_top(retriever.bm25.scores(qt)))
        rank_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        known = [w for w in qt if w in model.vocab_dict]
        s_top.append(_top(model.get_scores(known) if known else zeros))
        s_t.append(time.perf_counter() - t)
    overlap = [len(set(a) & set(b)) / max(len(a), len(b), 1) for a, b in zip(rank_top, s_top)]
    exact = [a == b for a, b in zip(rank_top, s_top)]
    first = [a[:1] == b[:1] for a, b in zip(rank_top, s_top)]
    rank_l, s_l = _ms(rank_t), _ms(s_t)
    return {"queries": len(qtokens), "passages": len(tokens), "bm25s_init_s": init_s,
            "rank_bm25": rank_l, "bm25s": s_l, "latency_ratio_p50": rank_l["p50_ms"] / s_l["p50_ms"],
            "overlap_at_10": float(np.mean(overlap)), "exact_top10_share": float(np.mean(exact)),
            "top1_agreement": float(np.mean(first)),
            "note": "bm25s method=robertson clamps negative idf at 0 where rank-bm25 uses 0.25 x mean idf; "
                    "float32 vs float64 scores"}


def _search_each(index, queries: np.ndarray, k: int = K) -> tuple[list[float], np.ndarray]:
    times, ids = [], []
    for q in queries:
        t = time.perf_counter()
        _, i = index.search(q.reshape(1, -1), k)
        times.append(time.perf_counter() - t)
        ids.append(i[0])
    return times, np.array(ids)


def embedding_like(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n synthetic unit vectors near the span of real model vectors: each a random mix of three
    real vectors plus noise, so they cluster like embeddings do (random vectors do not)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(real), size=(n, 3))
    w = rng.dirichlet(np.ones(3), size=n).astype(np.float32)
    v = np.einsum("nk,nkd->nd", w, real[picks])
    v += rng.standard_normal(v.shape, dtype=np.float32) * (0.25 / np.sqrt(v.shape[1]))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _hnsw_case(vectors: np.ndarray, queries: np.ndarray, m: int, efs: Sequence[int]) -> dict:
    import faiss

    from qa.index.store import flat_index

    flat = flat_index(vectors)
    flat_t, truth = _search_each(flat, queries)
    index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter()
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    build_s = time.perf_counter() - t
    flat_l = _ms(flat_t)
    out = {"vectors": len(vectors), "flat": flat_l, "hnsw_M": m, "hnsw_build_s": build_s,
           "hnsw_bytes_per_vector": (faiss.serialize_index(index).size / len(vectors)), "ef": {}}
    # The 10th best exact score per query: a hit scoring at least that is as good as the flat one
    # (duplicate passages give equal vectors, and which of equals comes back is arbitrary).
    kth = np.einsum("qd,qd->q", vectors[truth[:, -1]], queries)
    for ef in efs:
        index.hnsw.efSearch = ef
        _search_each(index, queries[:10])  # warm-up
        times, got = _search_each(index, queries)
        recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(truth, got)])
        by_score = np.mean([(vectors[g[g >= 0]] @ q >= s - 1e-5).sum() / K for g, q, s in zip(got, queries, kth)])
        lat = _ms(times)
        out["ef"][str(ef)] = {"latency": lat, "recall_at_10": float(recall), "recall_at_10_ties": float(by_score),
                              "speedup_p50": flat_l["p50_ms"] / lat["p50_ms"]}
    return out


def flat_vs_hnsw(vectors: np.ndarray, query_vectors: Sequence[np.ndarray], spec: dict) -> dict:
    """Recall@10 of HNSW against the exact flat search, and the latency ratio, per efSearch.

    Run on the index's own vectors and, when real model vectors are at hand (``spec["real_vectors"]``,
    an index folder), on as many embedding-like vectors mixed from them."""
    queries = np.ascontiguousarray(np.stack(list(query_vectors))[:spec.get("max_queries", 200)], np.float32)
    m, efs = spec.get("M", 32), spec.get("ef", [64, 128])
    out = {"queries": len(queries), "index_vectors": _hnsw_case(vectors, queries, m, efs),
           "index_vectors_kind": spec.get("kind", "")}
    real_dir = spec.get("real_vectors")
    if real_dir:
        from qa.index.store import read_index

        data = read_index(Path(real_dir))
        real = np.concatenate([data.passage_vectors(), np.asarray(data.sentence_vectors)])
        out["real_vectors"] = _hnsw_case(real, queries, m, efs)
        out["embedding_like"] = _hnsw_case(embedding_like(real, len(vectors)), queries, m, efs)
        out["embedding_like_from"] = f"{len(real)} real MiniLM vectors of {real_dir}"
    return out
