"""Train the extractive reader: ``python -m qa.reader.train`` rebuilds ``qa/reader/reader.safetensors``.

Fine-tunes the verified all-MiniLM-L6-v2 weights for span extraction with a no-answer option
(start/end logits over question + context tokens; both point at [CLS] when the window does not
answer, as for SQuAD 2.0) on the SQuAD articles of ``../shared/data/squad/`` (less the calibration
and validation articles) and the seeds' dev split. The word-piece embeddings stay frozen, so the
shipped file holds only what differs from the base model (in float16). Runs on CPU; uses a GPU
when torch sees one. Writes the weights and a model card; ``qa.reader.calibrate`` then fits the
answerability model on the calibration articles.

A run over the whole SQuAD 1.1 training set takes hours on two cores, so it checkpoints into a run
folder outside the repository (``qa.reader.checkpoint``) at least every ``--checkpoint-minutes``,
stops cleanly at a checkpoint on ``--max-minutes``, ``--stop-after-steps`` or SIGTERM, and
``--resume`` goes on exactly where it stopped: the same batches in the same order, the optimiser's
moments, the schedule and the random state. Along the way it measures the reader on a sample of
the validation articles with each question's own paragraph given (``--curve``): the learning curve.

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
import math
import os
import platform
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CheckpointError, DocumentError
from ..index.dense import prepare_default_model, resolve_model
from ..index.cpu import native_bf16
from ..settings import DEFAULT_DOCS, DEFAULT_MODEL, Settings
from . import checkpoint, measure
from . import data as rc
from .model import CARD_PATH, WEIGHTS_PATH, Reader, write_weights
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


def _minutes(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of minutes")
    return value


def epoch_batches(gs: list[Group], size: int, seed: int, epoch: int) -> list[list[Group]]:
    """Epoch ``epoch``'s batches: the same for the same seed, so a resumed run takes up the
    batches it would have read."""
    return pack(gs, size, random.Random(f"{seed}/epoch {epoch}"))


def schedule_length(gs: list[Group], size: int, seed: int, epochs: float, max_steps: int) -> tuple[int, int]:
    """(total steps, steps of the first epoch) for ``epochs`` passes, at most ``max_steps``."""
    lengths = [len(epoch_batches(gs, size, seed, e)) for e in range(max(1, math.ceil(epochs)))]
    whole = int(epochs)
    total = sum(lengths[:whole]) + (int(lengths[whole] * (epochs - whole)) if whole < len(lengths) else 0)
    total = max(1, total)
    return (min(total, max_steps) if max_steps else total), lengths[0]


@dataclass(frozen=True)
class Log:
    """Lines to stderr and to the run folder's ``log.txt``."""

    path: Path

    def __call__(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m qa.reader.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="folder of SQuAD JSON files")
    ap.add_argument("--seeds", type=Path, default=DEFAULT_DOCS, help="seed documents and questions.jsonl")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=32, help="windows a step")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=float, default=0.06)
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
    ap.add_argument("--max-steps", type=int, default=0, help="a run of at most this many steps (smoke runs)")
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                    help="run the forward pass in bfloat16 autocast (weights and optimiser stay float32); "
                         "default: on a GPU and on CPUs with AVX512-BF16, off elsewhere (emulated there)")
    ap.add_argument("--run-dir", type=Path, default=None,
                    help="the run's checkpoints, log and learning curve (default: CACHE/reader-run, outside "
                         "the repository; CACHE is $QA_CACHE_DIR or ~/.cache/qa-cite)")
    ap.add_argument("--resume", action="store_true", help="go on from the run folder's checkpoint")
    ap.add_argument("--max-minutes", type=_minutes, default=None,
                    help="stop cleanly at a checkpoint once this much time has passed; --resume goes on")
    ap.add_argument("--stop-after-steps", type=int, default=0,
                    help="stop cleanly at a checkpoint after this many steps in this session")
    ap.add_argument("--checkpoint-minutes", type=_minutes, default=10.0, help="checkpoint at least this often")
    ap.add_argument("--curve", type=int, nargs="*", default=[12_000, 25_000, 50_000],
                    help="measure the reader on the validation articles (gold paragraph given) when this many "
                         "training questions have been read, and at the end: the learning curve, written to "
                         "RUN_DIR/curve.jsonl (no values: only at the end)")
    ap.add_argument("--curve-questions", type=int, default=2000,
                    help="validation questions sampled for each point of the curve (0: all)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    return ap


# What makes two runs the same run: a resume with other values is refused.
RUN_SETTINGS = ("epochs", "batch", "lr", "warmup", "objective", "other_rate", "swap_rate", "inside_swap_rate",
                "share", "seed", "max_steps")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _train(args, argv)
    except DocumentError as exc:  # no training data where it was looked for: the command was misused
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _train(args: argparse.Namespace, argv: list[str] | None) -> int:
    process_started = time.time()
    articles = rc.read_squad_folder(args.squad)
    run_dir = args.run_dir or Settings().cache_dir / "reader-run"
    found = checkpoint.progress(run_dir)
    if found is not None and not args.resume:
        raise CheckpointError(f"{run_dir} holds a run at step {found.step}/{found.total}; pass --resume to go on "
                              "with it, or --run-dir for a new run")
    if found is None and args.resume:
        raise CheckpointError(f"no checkpoint in {run_dir}; run without --resume to start one")

    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    bf16 = args.bf16 if args.bf16 is not None else device == "cuda" or native_bf16()
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Log(run_dir / "log.txt")

    files = resolve_model(DEFAULT_MODEL, Settings().cache_dir)
    prepare_default_model(files.path)
    tok = plain(Tokenizer.from_file(str(files.path / "tokenizer.json")))

    squad_files = sorted(args.squad.glob("*.json"))
    train_articles, _, validation = rc.split(articles)
    seeds_q = args.seeds / "questions.jsonl"
    train_articles.append(rc.seed_dev_article(seeds_q, args.seeds))
    train_articles = rc.sample(train_articles, args.share, seed=args.seed)
    exs = rc.examples(train_articles, seed=args.seed, other_rate=args.other_rate, swap_rate=args.swap_rate,
                      inside_swap_rate=args.inside_swap_rate)
    gs = groups(tok, exs, args.objective)
    n_windows = sum(len(g.windows) for g in gs)
    kinds = {k: sum(e.kind == k for e in exs) for k in sorted({e.kind for e in exs})}
    settings = {k: getattr(args, k) for k in RUN_SETTINGS} | {
        "data": [{"file": f.name, "sha256": rc.sha256(f)} for f in squad_files] + [{"file": "seeds/questions.jsonl",
                                                                                      "sha256": rc.sha256(seeds_q)}],
        "examples": kinds, "groups": len(gs), "windows": n_windows}
    if found is not None and found.settings != settings:
        differ = sorted(k for k in settings.keys() | found.settings.keys()
                        if settings.get(k) != found.settings.get(k))
        raise CheckpointError(f"the run in {run_dir} was started with other settings ({', '.join(differ)}); resume "
                              "it with the same options, or pass --run-dir for a new run")
    total, per_epoch = schedule_length(gs, args.batch, args.seed, args.epochs, args.max_steps)
    n_gold = sum(len(a.questions) for a in train_articles)
    log(f"{len(exs)} examples {kinds}, {len(gs)} groups, {n_windows} windows, {total} steps of {args.batch} "
        f"windows; device {device}, {'bfloat16 autocast' if bf16 else 'float32'}, "
        f"{time.time() - process_started:.0f}s to prepare")

    model = AutoModelForQuestionAnswering.from_pretrained(str(files.path)).to(device)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warm = max(1, int(total * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    progress = checkpoint.Progress(0, total, settings)
    if found is not None:
        progress = checkpoint.restore(run_dir, model, opt, sched)
        log(f"resumed {run_dir} at step {progress.step}/{total} ({progress.train_seconds / 60:.0f} min trained)")

    curve_sample = measure.questions(validation, limit=args.curve_questions, seed=args.seed)
    live = Reader(measure.torch_run(model, bf16=bf16), tok)
    questions_at = lambda step: round(step / per_epoch * n_gold)  # noqa: E731  training questions read by a step

    def measure_curve(step: int) -> None:
        model.eval()
        figures = measure.gold_paragraph(live, curve_sample)
        model.train()
        point = {"step": step, "questions_read": questions_at(step), "windows_read": step * args.batch,
                 "train_minutes": round((progress.train_seconds + time.time() - segment_started) / 60, 1),
                 "validation_gold_paragraph": figures, "date": time.strftime("%Y-%m-%d %H:%M")}
        with (run_dir / "curve.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(point) + "\n")
        log(f"curve: {point}")

    stop = Stop()
    signal.signal(signal.SIGTERM, stop.ask)
    segment_started = last_save = time.time()
    segment = {"started": time.strftime("%Y-%m-%d %H:%M"), "from_step": progress.step, "device": device,
               "precision": "bfloat16 autocast" if bf16 else "float32", "cpu_bf16": native_bf16(),
               "hardware": f"{platform.machine()}, {os.cpu_count()} cores", "torch_threads": torch.get_num_threads()}
    step, losses, curve_done = progress.step, list(progress.losses), set(progress.curve_done)
    windows_done = 0

    def save(step: int) -> None:
        nonlocal last_save
        part = segment | {"steps": step - segment["from_step"], "seconds": round(time.time() - segment_started)}
        checkpoint.save(run_dir, model, opt, sched, checkpoint.Progress(
            step, total, settings, tuple(losses[-50:]), progress.segments + (part,), tuple(sorted(curve_done))))
        last_save = time.time()

    model.train()
    stopped = None
    while step < total and stopped is None:
        epoch, offset = divmod(step, per_epoch) if args.objective == "window" else _position(gs, args, step)
        for chunk in epoch_batches(gs, args.batch, args.seed, epoch)[offset:]:
            ws = [w for g in chunk for w in g.windows]
            loss = _step(torch, model, chunk, ws, args.objective, device, bf16)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
            step += 1
            windows_done += len(ws)
            if step % 25 == 0 or step == total:
                rate = windows_done / (time.time() - segment_started)
                log(f"step {step}/{total} loss {np.mean(losses[-25:]):.3f} {rate:.1f} windows/s, "
                    f"{(total - step) * args.batch / rate / 3600:.1f} h to go")
            due = [q for q in args.curve if q not in curve_done and questions_at(step) >= q]
            if due:
                curve_done.update(due)
                measure_curve(step)
            session = time.time() - process_started
            if args.max_minutes is not None and session >= args.max_minutes * 60:
                stopped = f"--max-minutes {args.max_minutes:g} reached"
            elif args.stop_after_steps and step - segment["from_step"] >= args.stop_after_steps:
                stopped = f"--stop-after-steps {args.stop_after_steps} reached"
            elif stop.asked:
                stopped = "asked to stop (SIGTERM)"
            if stopped or step >= total or due or time.time() - last_save >= args.checkpoint_minutes * 60:
                save(step)
            if stopped or step >= total:
                break
    if stopped:
        log(f"stopped at step {step}/{total}: {stopped}; checkpoint in {run_dir}; go on with --resume")
        return 0
    if -1 not in curve_done:  # the curve's last point: the whole run
        curve_done.add(-1)
        measure_curve(step)
        save(step)
    final = checkpoint.progress(run_dir)
    _write(args, argv, model, files, seeds_q, train_articles, settings, final, run_dir / "curve.jsonl", device, bf16, log)
    return 0


class Stop:
    """Set by SIGTERM: the run checkpoints after its current step and stops."""

    def __init__(self) -> None:
        self.asked = False

    def ask(self, _signum, _frame) -> None:
        self.asked = True


def _position(gs: list[Group], args: argparse.Namespace, step: int) -> tuple[int, int]:
    """(epoch, batch within it) of a global step when epochs differ in length (shared objective)."""
    epoch = 0
    while True:
        n = len(epoch_batches(gs, args.batch, args.seed, epoch))
        if step < n:
            return epoch, step
        step -= n
        epoch += 1


def _step(torch, model, chunk: list[Group], ws: list[Window], objective: str, device: str, bf16: bool):
    ids, types, mask = (torch.from_numpy(x).to(device) for x in batch(ws))
    if objective == "window":  # transformers' own loss
        labels = {"start_positions": torch.tensor([g.starts[0] for g in chunk], device=device),
                  "end_positions": torch.tensor([g.ends[0] for g in chunk], device=device)}
    else:
        labels = {}
    with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        out = model(input_ids=ids, token_type_ids=types, attention_mask=mask, **labels)
    return out.loss if labels else shared_loss(torch, out.start_logits, out.end_logits, chunk)


# How a run is run, not what it trains: left out of the command the card records, so the card
# gives the command that rebuilds the weights however many sessions the run took.
RUN_CONTROL = {"--resume": 0, "--run-dir": 1, "--max-minutes": 1, "--stop-after-steps": 1,
               "--checkpoint-minutes": 1, "--out": 1}


def rebuild_command(argv: list[str]) -> str:
    """``python -m qa.reader.train`` with the arguments that decide the weights (run control left out)."""
    kept, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
            continue
        flag = arg.split("=", 1)[0]
        if flag in RUN_CONTROL:
            skip = RUN_CONTROL[flag] if "=" not in arg else 0
            continue
        kept.append(arg)
    return " ".join(["python -m qa.reader.train", *kept])


def _write(args, argv, model, files, seeds_q, train_articles, settings, final, curve_path, device, bf16, log) -> None:
    """The trained weights (float16, what differs from the base model) and, for the shipped ones,
    the model card."""
    state = {k.removeprefix("bert."): v.detach().float().cpu().numpy() for k, v in model.state_dict().items()
             if not k.startswith("bert.pooler") and k != "bert.embeddings.word_embeddings.weight"
             and not k.endswith("position_ids")}
    digest = write_weights(args.out, state)
    curve = [json.loads(line) for line in curve_path.read_text().splitlines()] if curve_path.is_file() else []
    card = {
        "what": "extractive reader: all-MiniLM-L6-v2 fine-tuned for span extraction with a no-answer option",
        "command": rebuild_command(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "base_model": {"id": DEFAULT_MODEL, "sha256": files.checksum},
        "weights": {"file": args.out.name, "sha256": digest, "dtype": "float16",
                    "frozen": ["embeddings.word_embeddings.weight (taken from the base model)"]},
        "data": {
            "squad": settings["data"][:-1],
            "seeds_dev": {"file": "seeds/questions.jsonl", "sha256": rc.sha256(seeds_q), "split": "dev"},
            "licence": "SQuAD (Rajpurkar et al. 2016, 2018), CC BY-SA 4.0",
            "train_articles": len(train_articles),
            "calibration_articles": list(rc.CALIBRATION_ARTICLES),
            "validation_articles": list(rc.VALIDATION_ARTICLES),
            "examples": settings["examples"], "groups": settings["groups"], "windows": settings["windows"],
        },
        "hyper_parameters": {"max_length": MAX_LENGTH, "stride": STRIDE, "batch": args.batch, "lr": args.lr,
                             "warmup": args.warmup, "schedule": "linear decay", "epochs": args.epochs,
                             "steps": final.step, "optimizer": "AdamW (weight decay 0.01)", "seed": args.seed,
                             "objective": args.objective, "other_rate": args.other_rate,
                             "swap_rate": args.swap_rate, "inside_swap_rate": args.inside_swap_rate,
                             "share": args.share},
        "training": {"wall_time_s": round(final.train_seconds), "sessions": list(final.segments),
                     "final_loss": float(np.mean(final.losses)) if final.losses else None},
        "learning_curve": curve,
    }
    if args.out == WEIGHTS_PATH:
        old = json.loads(CARD_PATH.read_text()) if CARD_PATH.is_file() else {}
        # The calibration, validation and ablation figures belonged to the old weights.
        stale = ("calibration", "validation", "ablation")
        CARD_PATH.write_text(json.dumps(card | {k: v for k, v in old.items() if k not in card and k not in stale},
                                        indent=2) + "\n")
    log(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) after {final.train_seconds / 60:.0f} min of "
        f"training on {device} ({'bfloat16 autocast' if bf16 else 'float32'})")


if __name__ == "__main__":
    raise SystemExit(main())
