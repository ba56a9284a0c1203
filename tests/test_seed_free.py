"""The library is not written around the seed articles: no name and no run of words from their
text appears in the code or comments of ``qa/`` (issue 14's grep, kept by a test).

Names are the seeds' capitalised words met in mid-sentence that never occur in lower case there
("a council led by Someone" yields "Someone", not "Council"). Phrases are runs of five words of
the articles' text, less the lines the loader itself strips as scraper boilerplate (comment-form
notices, which are the same on every site and which ``qa.index.documents`` must name to strip).
"""
from __future__ import annotations

import re
from pathlib import Path

from qa.index.documents import load_documents

ROOT = Path(__file__).resolve().parent.parent
PHRASE_WORDS = 5
CALENDAR = {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}


def body_texts(folder: Path) -> list[str]:
    docs, _ = load_documents([folder])
    out = []
    for d in docs:
        text = d.text
        for s in reversed(d.boilerplate):
            text = text[:s.start] + text[s.end:]
        out.append(text)
    return out


def names(texts: list[str]) -> set[str]:
    joined = "\n".join(texts)
    lower = set(re.findall(r"\b[a-z][\w'’-]*", joined))
    found = {m.group(1) for m in re.finditer(r"[a-z,] ([A-Z][\w-]*[a-z][\w-]*)", joined)}
    return {n for n in found if len(n) > 2 and n.lower() not in lower and n not in CALENDAR}


def phrases(text: str) -> set[str]:
    w = re.findall(r"[a-z0-9]+", text.lower())
    return {" ".join(w[i:i + PHRASE_WORDS]) for i in range(len(w) - PHRASE_WORDS + 1)}


def sources(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted((root / "qa").rglob("*.py"))}


def seed_traces(code: dict[str, str], texts: list[str]) -> list[str]:
    seed_names, seed_phrases = names(texts), set().union(*map(phrases, texts))
    out = []
    for path, src in code.items():
        out += [f"{path}: name {n!r}" for n in sorted(seed_names) if re.search(rf"\b{re.escape(n)}\b", src)]
        out += [f"{path}: phrase {p!r}" for p in sorted(phrases(src) & seed_phrases)]
    return out


def test_the_seeds_yield_names_and_phrases_to_look_for():
    texts = body_texts(ROOT / "seeds")
    assert len(texts) == 2 and len(names(texts)) >= 20 and all(len(phrases(t)) > 500 for t in texts)


def test_no_seed_name_or_phrase_in_the_library():
    assert seed_traces(sources(ROOT), body_texts(ROOT / "seeds")) == []


def test_a_seed_name_or_phrase_in_the_library_is_found(tmp_path):
    texts = body_texts(ROOT / "seeds")
    name = sorted(names(texts))[0]
    words = re.findall(r"[A-Za-z]+", texts[0])[40:40 + PHRASE_WORDS]
    code = {"qa/x.py": f"# as {name} said\n", "qa/y.py": "'''" + " ".join(words) + "'''\n"}
    found = seed_traces(code, texts)
    assert any(f.startswith("qa/x.py: name") for f in found) and any(f.startswith("qa/y.py: phrase") for f in found)
