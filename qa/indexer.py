"""Building and updating the index incrementally.

A document whose content hash is in the current index keeps its passages, tokens and vectors;
only new or changed documents are split, tokenized and embedded. A different model, tokenizer,
splitter or schema rebuilds everything.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import tokenize
from .dense import Encoder, ModelFiles, load_encoder, resolve_model
from .documents import Document, Skipped, content_hash, discover, load_documents, printable
from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from .passages import Passage, Sentence, make_passages, split_sentences
from .settings import Settings
from .store import IndexData, build_lock, check_config, flat_index, read_index, read_manifest, write_index

log = logging.getLogger(__name__)

# progress(total, description) -> an update(n) callable; the CLI passes tqdm, the library is silent.
ProgressFactory = Callable[[int, str], Callable[[int], None]]


@dataclass(frozen=True)
class BuildReport:
    documents: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    passages: int
    sentences: int
    embedded: int  # texts run through the encoder; 0 when nothing changed
    skipped: tuple[Skipped, ...]
    seconds: float
    written: bool


def config_for(settings: Settings, model: ModelFiles) -> dict:
    """The manifest entries that must match for an index to be reused."""
    return {"model": {"id": model.model_id, "checksum": model.checksum},
            "tokenizer": tokenize.settings(), "splitter": settings.splitter.to_json()}


def _comparable(manifest: dict) -> dict:
    """The manifest with the model entry cut to what config_for records (not the dimension)."""
    model = manifest.get("model")
    model = {k: model.get(k) for k in ("id", "checksum")} if isinstance(model, dict) else model
    return dict(manifest, model=model)


def input_hashes(sources: Sequence[Path]) -> dict[str, str]:
    """Content hash of every candidate file under ``sources``, readable or not (those are skipped)."""
    files, _ = discover(sources)
    out = {}
    for f in files:
        try:
            out[printable(f)] = content_hash(f.read_bytes())
        except OSError:
            out[printable(f)] = "unreadable"
    return out


def _noop(_n: int) -> None:
    pass


def _silent(_total: int, _desc: str) -> Callable[[int], None]:
    return _noop


def source_paths(settings: Settings, paths: Sequence[Path] | None) -> tuple[Path, ...]:
    return tuple(Path(p) for p in paths) if paths else settings.docs


def build(settings: Settings, paths: Sequence[Path] | None = None, *,
          progress: ProgressFactory = _silent,
          encoder: Callable[[ModelFiles], Encoder] | None = None) -> BuildReport:
    """Build or update the index in ``settings.index_dir`` from ``paths`` (default: settings.docs).

    ``encoder`` returns the document encoder for a model (default: load sentence-transformers);
    it is only called when something needs embedding."""
    t0 = time.perf_counter()
    sources = source_paths(settings, paths)
    docs, skipped = load_documents(sources)
    model = resolve_model(settings.model, settings.cache_dir)
    config = config_for(settings, model)
    index_dir = settings.index_dir
    with build_lock(index_dir):
        old = _previous(index_dir, config, sources)
        old_docs = {d.doc_id: d for d in old.documents} if old else {}
        reuse = {d.doc_id for d in docs if d.doc_id in old_docs and old_docs[d.doc_id].sha256 == d.sha256}
        added = tuple(d.doc_id for d in docs if d.doc_id not in old_docs)
        changed = tuple(d.doc_id for d in docs if d.doc_id in old_docs and d.doc_id not in reuse)
        removed = tuple(sorted(set(old_docs) - {d.doc_id for d in docs}))
        sources_json = [printable(p) for p in sources]
        inputs = input_hashes(sources)
        if old and not added and not changed and not removed and old.manifest.get("sources") == sources_json \
                and old.manifest.get("inputs") == inputs:
            return BuildReport(len(docs), (), (), (), len(docs), len(old.passages), len(old.sentences), 0,
                               tuple(skipped), time.perf_counter() - t0, False)
        data, embedded = _assemble(docs, reuse, old, settings, model, config, progress,
                                   encoder or (lambda files: load_encoder(files, for_queries=False)))
        data = IndexData(dict(data.manifest, sources=sources_json, inputs=inputs), data.documents, data.passages,
                         data.passage_tokens, data.sentences, data.dense, data.sentence_vectors)
        write_index(index_dir, data)
    log.info("indexed %d documents (%d passages) in %s", len(docs), len(data.passages), index_dir)
    return BuildReport(len(docs), added, changed, removed, len(reuse), len(data.passages),
                       len(data.sentences), embedded, tuple(skipped), time.perf_counter() - t0, True)


def _previous(index_dir: Path, config: dict, sources: Sequence[Path]) -> IndexData | None:
    """The current index when it can be reused, else None (and a full rebuild, said in one line)."""
    try:
        manifest = read_manifest(index_dir)
        check_config(_comparable(manifest), config, index_dir)
        return read_index(index_dir)
    except IndexMissingError:
        return None
    except (IndexCorruptError, IndexMismatchError) as exc:
        found = str(exc).split("; run")[0]
        log.warning("%s; rebuilding the index from %s", found, ", ".join(printable(p) for p in sources))
        return None


def _assemble(docs: list[Document], reuse: set[str], old: IndexData | None, settings: Settings,
              model: ModelFiles, config: dict, progress: ProgressFactory,
              make_encoder: Callable[[ModelFiles], Encoder]) -> tuple[IndexData, int]:
    old_rows: dict[str, tuple[list[int], list[int]]] = {}
    if old:
        for i, p in enumerate(old.passages):
            old_rows.setdefault(p.doc_id, ([], []))[0].append(i)
        for i, s in enumerate(old.sentences):
            old_rows.setdefault(s.doc_id, ([], []))[1].append(i)
    old_pvec = old.passage_vectors() if old and reuse else None

    # Split and tokenize the new documents; collect texts to embed.
    fresh: dict[str, tuple[list[Sentence], list[Passage]]] = {}
    new_texts: list[str] = []
    for doc in docs:
        if doc.doc_id in reuse:
            continue
        sentences = split_sentences(doc)
        passages = make_passages(doc, sentences, settings.splitter)
        fresh[doc.doc_id] = (sentences, passages)
        new_texts += [doc.text[p.start:p.end] for p in passages]
        new_texts += [doc.text[s.start:s.end] for s in sentences]

    dim = old.dense.d if old and reuse else None
    new_vecs = np.zeros((0, dim or 0), dtype=np.float32)
    if new_texts:
        encoder = make_encoder(model)
        dim = encoder.dim
        update = progress(len(new_texts), "embedding")
        new_vecs = encoder.encode(new_texts, progress=update)
    if dim is None:
        raise IndexCorruptError("nothing to index: every document is empty of sentences")

    passages: list[Passage] = []
    tokens: list[tuple[str, ...]] = []
    sentences: list[Sentence] = []
    pvecs: list[np.ndarray] = []
    svecs: list[np.ndarray] = []
    cursor = 0
    for doc in docs:
        base = len(sentences)
        if doc.doc_id in reuse:
            p_rows, s_rows = old_rows.get(doc.doc_id, ([], []))
            first_old = s_rows[0] if s_rows else 0
            for i in p_rows:
                p = old.passages[i]
                passages.append(Passage(p.doc_id, p.start, p.end, p.first_sentence - first_old + base,
                                        p.last_sentence - first_old + base))
                tokens.append(old.passage_tokens[i])
            sentences += [old.sentences[i] for i in s_rows]
            pvecs.append(old_pvec[p_rows] if p_rows else np.zeros((0, dim), np.float32))
            svecs.append(np.asarray(old.sentence_vectors[s_rows]) if s_rows else np.zeros((0, dim), np.float32))
            continue
        doc_sentences, doc_passages = fresh[doc.doc_id]
        for p in doc_passages:
            passages.append(Passage(p.doc_id, p.start, p.end, p.first_sentence + base, p.last_sentence + base))
            tokens.append(tuple(tokenize.tokenize(doc.text[p.start:p.end])))
        sentences += doc_sentences
        n_p, n_s = len(doc_passages), len(doc_sentences)
        pvecs.append(new_vecs[cursor:cursor + n_p])
        svecs.append(new_vecs[cursor + n_p:cursor + n_p + n_s])
        cursor += n_p + n_s

    pvec = np.concatenate(pvecs) if pvecs else np.zeros((0, dim), np.float32)
    svec = np.concatenate(svecs) if svecs else np.zeros((0, dim), np.float32)
    manifest = dict(config, model=dict(config["model"], dim=int(dim)),
                    documents={d.doc_id: {"path": d.path, "sha256": d.sha256} for d in docs})
    return IndexData(manifest, tuple(docs), tuple(passages), tuple(tokens), tuple(sentences),
                     flat_index(pvec), svec), len(new_texts)


def stale_reason(settings: Settings, sources: Sequence[Path]) -> str | None:
    """Why the index in settings.index_dir does not reflect ``sources`` (None when it does).

    Cheap: hashes the files' bytes, never parses or embeds them."""
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexMissingError:
        return "there is no index yet"
    except (IndexCorruptError, IndexMismatchError) as exc:  # an unreadable manifest, another schema
        return str(exc).split("; run")[0]
    if manifest.get("sources") != [printable(p) for p in sources]:
        return "it was built from other documents"
    model = resolve_model(settings.model, settings.cache_dir)
    try:
        check_config(_comparable(manifest), config_for(settings, model), settings.index_dir)
    except IndexMismatchError as exc:
        return str(exc).split(" in ", 1)[-1].split("; run")[0]
    have = manifest.get("inputs", {})
    now = input_hashes(sources)
    for path in sorted(set(have) | set(now)):
        if path not in now:
            return f"{path} was removed"
        if path not in have:
            return f"{path} is new"
        if have[path] != now[path]:
            return f"{path} changed"
    return None
