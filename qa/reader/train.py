"""Train the extractive reader: ``python -m qa.reader.train`` rebuilds ``qa/reader/reader.safetensors``.

Fine-tunes the verified all-MiniLM-L6-v2 weights for span extraction with a no-answer option
(start/end logits over question + context tokens; both point at [CLS] when the window does not
answer, as for SQuAD 2.0) on the SQuAD articles of ``../shared/data/squad/`` (less the calibration
and validation articles) and the seeds' dev split. The word-piece embeddings stay frozen, so the
shipped file holds only what differs from the base model (in float16). Runs on CPU; uses a GPU
when torch sees one. Writes the weights and a model card; ``qa.reader.calibrate`` then fits the
answerability model on the calibration articles.

Objective ``window`` (the default) scores each window on its own: both logits at [CLS] when it does
not hold the answer. Objective ``shared`` instead normalises the start and end scores over every
window of one question at once, its gold paragraph and the other paragraph of its article most like
it (Clark and Gardner 2018, "Simple and Effective Multi-Paragraph Reading Comprehension"), so that
scores of different passages are comparable; a question its paragraph does not answer puts its mass
on the windows' [CLS]. It measured worse here (README, "Training the reader").
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DocumentError
from ..index.dense import prepare_default_model, resolve_model
from ..settings import DEFAULT_DOCS, DEFAULT_MODEL, Settings
from . import data as rc
from .model import CARD_PATH, WEIGHTS_PATH, write_weights
from .windows import MAX_LENGTH, STRIDE, Window, batch, plain, windows

DEFAULT_SQUAD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "squad"


def labelled_windows(tok, ex: rc.Example) -> list[tuple[Window, int, int]]:
    """Windows of one example with start/end token labels (0, 0 = [CLS] = no answer here)."""
    out = []
    a, b = ex.answer_start, ex.answer_start + len(ex.answer_text)
    for w in windows(tok, ex.question, [ex.context]):
        s = e = 0
        if a >= 0:
            ctx = np.nonzero(w.types)[0][:-1]  # context tokens, less the closing [SEP]
            offs = w.offsets
            if len(ctx) and offs[ctx[0], 0] <= a and offs[ctx[-1], 1] >= b:
                s = next(int(i) for i in ctx if offs[i, 1] > a)
                e = next(int(i) for i in reversed(ctx) if offs[i, 0] < b)
        out.append((w, s, e))
    return out


@dataclass(frozen=True)
class Group:
    """Windows normalised together: every window of one question's contexts, with each window's
    start/end label (0, 0 = [CLS]). ``answerable``: the labels point at the answer where a window
    holds it; otherwise every window's [CLS] is the target."""

    windows: tuple[Window, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    answerable: bool


def groups(tok, exs: list[rc.Example], objective: str) -> list[Group]:
    """Training groups: for ``window`` one per window; for ``shared`` one per question, its gold
    example and its other-paragraph negative together (swapped and real negatives on their own).
    A gold example whose answer no window holds whole is left out rather than taught as "no
    answer"."""
    keyed: dict[str, list[tuple[Window, int, int]]] = {}
    answerable: dict[str, bool | None] = {}  # None: the answer is cut by every window
    for ex in exs:
        labelled = labelled_windows(tok, ex)
        if objective == "window":
            for i, lw in enumerate(labelled):
                keyed[f"{ex.qid}/{i}"] = [lw]
                answerable[f"{ex.qid}/{i}"] = lw[1] > 0
            continue
        key = ex.qid.removesuffix("#other")
        keyed.setdefault(key, []).extend(labelled)
        if ex.answer_start >= 0:
            answerable[key] = True if any(s > 0 for _, s, _ in labelled) else None
        else:
            answerable.setdefault(key, False)
    out = []
    for key, labelled in keyed.items():
        if answerable[key] is None:
            continue
        out.append(Group(tuple(w for w, _, _ in labelled), tuple(s for _, s, _ in labelled),
                         tuple(e for _, _, e in labelled), bool(answerable[key])))
    return out


def pack(gs: list[Group], size: int, rng: random.Random) -> list[list[Group]]:
    """Groups into batches of about ``size`` windows, of similar length, in random order."""
    order = sorted(gs, key=lambda g: max(len(w.ids) for w in g.windows) + rng.random() * 24)
    out: list[list[Group]] = []
    count = size
    for g in order:
        if count + len(g.windows) > size:
            out.append([])
            count = 0
        out[-1].append(g)
        count += len(g.windows)
    rng.shuffle(out)
    return out


def shared_loss(torch, start, end, chunk: list[Group]):
    """Mean over groups of -log P(target start) - log P(target end), halved, each softmax taken
    over the [CLS] and context tokens of all the group's windows together."""
    valid = np.zeros(start.shape, dtype=bool)
    target_s, target_e = np.zeros_like(valid), np.zeros_like(valid)
    row = 0
    for g in chunk:
        for w, s, e in zip(g.windows, g.starts, g.ends):
            valid[row, 0] = True
            valid[row, w.first_context_token:len(w.ids) - 1] = True
            if g.answerable:
                if s > 0:
                    target_s[row, s] = target_e[row, e] = True
            else:
                target_s[row, 0] = target_e[row, 0] = True
            row += 1
    dev = start.device
    valid, target_s, target_e = (torch.from_numpy(x).to(dev) for x in (valid, target_s, target_e))
    start, end = start.float(), end.float()
    losses, row = [], 0
    for g in chunk:
        rows = slice(row, row + len(g.windows))
        row += len(g.windows)
        for logits, target in ((start, target_s), (end, target_e)):
            x = logits[rows]
            every = torch.logsumexp(x.masked_fill(~valid[rows], -torch.inf).flatten(), 0)
            right = torch.logsumexp(x.masked_fill(~target[rows], -torch.inf).flatten(), 0)
            losses.append((every - right) / 2)
    return torch.stack(losses).sum() / len(chunk)


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share in (0, 1]")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m qa.reader.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="folder of SQuAD JSON files")
    ap.add_argument("--seeds", type=Path, default=DEFAULT_DOCS, help="seed documents and questions.jsonl")
    ap.add_argument("--epochs", type=float, default=4.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--objective", choices=("window", "shared"), default="window",
                    help="score each window on its own (window, default) or normalise over all of a "
                         "question's windows (shared; measured worse, see the README)")
    ap.add_argument("--other-rate", type=float, default=0.3, help="share of questions given an other-paragraph negative")
    ap.add_argument("--swap-rate", type=float, default=0.1, help="share of questions given a swapped-entity negative")
    ap.add_argument("--inside-swap-rate", type=float, default=0.0,
                    help="share of questions given a negative with a name or number swapped for another of "
                         "its own paragraph")
    ap.add_argument("--share", type=_share, default=1.0,
                    help="train on this random share of the training questions, 0 < SHARE <= 1 (a learning "
                         "curve; default 1: all of them)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke runs)")
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                    help="run the forward pass in bfloat16 (autocast; weights and optimiser stay float32): "
                         "about 1.8x faster on CPUs with AVX-512 BF16 (default: on)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = ap.parse_args(argv)
    try:
        articles = rc.read_squad_folder(args.squad)
    except DocumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.time()

    files = resolve_model(DEFAULT_MODEL, Settings().cache_dir)
    prepare_default_model(files.path)
    tok = plain(Tokenizer.from_file(str(files.path / "tokenizer.json")))

    squad_files = sorted(args.squad.glob("*.json"))
    train_articles, _, _ = rc.split(articles)
    seeds_q = args.seeds / "questions.jsonl"
    train_articles.append(rc.seed_dev_article(seeds_q, args.seeds))
    train_articles = rc.sample(train_articles, args.share, seed=args.seed)
    exs = rc.examples(train_articles, seed=args.seed, other_rate=args.other_rate, swap_rate=args.swap_rate,
                      inside_swap_rate=args.inside_swap_rate)
    gs = groups(tok, exs, args.objective)
    n_windows = sum(len(g.windows) for g in gs)
    kinds = {k: sum(e.kind == k for e in exs) for k in sorted({e.kind for e in exs})}
    print(f"{len(exs)} examples {kinds}, {len(gs)} groups, {n_windows} windows, device {device}",
          file=sys.stderr, flush=True)

    model = AutoModelForQuestionAnswering.from_pretrained(str(files.path)).to(device)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    rng = random.Random(args.seed)
    steps_per_epoch = len(pack(gs, args.batch, random.Random(args.seed)))
    total = max(1, int(steps_per_epoch * args.epochs))
    if args.max_steps:
        total = min(total, args.max_steps)
    warm = max(1, int(total * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    model.train()
    step, losses = 0, []
    while step < total:
        for chunk in pack(gs, args.batch, rng):
            if step >= total:
                break
            ids, types, mask = (torch.from_numpy(x).to(device)
                                for x in batch([w for g in chunk for w in g.windows]))
            if args.objective == "window":  # transformers' own loss, as the shipped reader was trained
                labels = {"start_positions": torch.tensor([g.starts[0] for g in chunk], device=device),
                          "end_positions": torch.tensor([g.ends[0] for g in chunk], device=device)}
            else:
                labels = {}
            with torch.autocast(device, dtype=torch.bfloat16, enabled=args.bf16):
                out = model(input_ids=ids, token_type_ids=types, attention_mask=mask, **labels)
            loss = out.loss if labels else shared_loss(torch, out.start_logits, out.end_logits, chunk)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
            step += 1
            if step % 25 == 0 or step == total:
                print(f"step {step}/{total} loss {np.mean(losses[-25:]):.3f} "
                      f"{time.time() - started:.0f}s", file=sys.stderr, flush=True)

    state = {k.removeprefix("bert."): v.detach().float().cpu().numpy() for k, v in model.state_dict().items()
             if not k.startswith("bert.pooler") and k != "bert.embeddings.word_embeddings.weight"
             and not k.endswith("position_ids")}
    wall = time.time() - started
    digest = write_weights(args.out, state)
    card = {
        "what": "extractive reader: all-MiniLM-L6-v2 fine-tuned for span extraction with a no-answer option",
        "command": " ".join(["python -m qa.reader.train", *(argv if argv is not None else sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d"),
        "base_model": {"id": DEFAULT_MODEL, "sha256": files.checksum},
        "weights": {"file": args.out.name, "sha256": digest, "dtype": "float16",
                    "frozen": ["embeddings.word_embeddings.weight (taken from the base model)"]},
        "data": {
            "squad": [{"file": f.name, "sha256": rc.sha256(f)} for f in squad_files],
            "seeds_dev": {"file": "seeds/questions.jsonl", "sha256": rc.sha256(seeds_q), "split": "dev"},
            "licence": "SQuAD (Rajpurkar et al. 2016, 2018), CC BY-SA 4.0",
            "train_articles": [a.title for a in train_articles],
            "calibration_articles": list(rc.CALIBRATION_ARTICLES),
            "validation_articles": list(rc.VALIDATION_ARTICLES),
            "examples": kinds, "groups": len(gs), "windows": n_windows,
        },
        "hyper_parameters": {"max_length": MAX_LENGTH, "stride": STRIDE, "batch": args.batch, "lr": args.lr,
                             "warmup": args.warmup, "schedule": "linear decay", "epochs": args.epochs,
                             "steps": step, "optimizer": "AdamW (weight decay 0.01)", "seed": args.seed,
                             "precision": "bfloat16 autocast" if args.bf16 else "float32",
                             "objective": args.objective, "other_rate": args.other_rate,
                             "swap_rate": args.swap_rate, "inside_swap_rate": args.inside_swap_rate,
                             "share": args.share},
        "training": {"wall_time_s": round(wall), "device": device, "torch_threads": torch.get_num_threads(),
                     "hardware": f"{platform.machine()}, {os.cpu_count()} cores", "final_loss": float(np.mean(losses[-50:]))},
    }
    old = json.loads(CARD_PATH.read_text()) if CARD_PATH.is_file() and args.out == WEIGHTS_PATH else {}
    if args.out == WEIGHTS_PATH:
        # The calibration, validation and ablation figures belonged to the old weights.
        stale = ("calibration", "validation", "ablation")
        CARD_PATH.write_text(json.dumps(card | {k: v for k, v in old.items() if k not in card and k not in stale},
                                        indent=2) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {wall:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
