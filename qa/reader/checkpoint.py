"""A training run's checkpoint: everything ``python -m qa.reader.train --resume`` needs to go on
exactly where a run stopped, as plain files (safetensors and JSON; no pickle).

A run folder holds ``checkpoint/`` (the latest checkpoint), ``log.txt`` and ``curve.jsonl``. A
checkpoint is written into ``checkpoint.tmp/`` and renamed into place, so a run killed while
writing keeps its previous checkpoint:

* ``model.safetensors``: every trained tensor of the model, in float32;
* ``optimizer.safetensors``: AdamW's moments and step count per parameter;
* ``rng.safetensors``: torch's random state (dropout draws the same numbers after a resume);
* ``state.json``: the step, the run's settings (a resume with other settings is refused), the
  scheduler's state, the optimiser's hyper-parameters, recent losses and each session's part.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointError

CHECKPOINT = "checkpoint"


@dataclass(frozen=True)
class Progress:
    """Where a run stands: ``step`` batches done of ``total``; ``segments`` one entry per
    session that trained it (steps, seconds, device, precision)."""

    step: int
    total: int
    settings: dict
    losses: tuple[float, ...] = ()
    segments: tuple[dict, ...] = ()
    curve_done: tuple[int, ...] = ()  # the learning curve's points measured (-1: the end of the run)

    @property
    def train_seconds(self) -> float:
        return sum(s["seconds"] for s in self.segments)


def save(folder: Path, model, optimizer, scheduler, progress: Progress) -> Path:
    """Write a checkpoint of the run into ``folder``/checkpoint, atomically; returns its path."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tmp, final, old = folder / f"{CHECKPOINT}.tmp", folder / CHECKPOINT, folder / f"{CHECKPOINT}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.detach().float().contiguous() for k, v in _trained(model).items()}, str(tmp / "model.safetensors"))
    opt = optimizer.state_dict()
    moments = {f"{i}.{k}": torch.as_tensor(v).float().contiguous() for i, st in opt["state"].items()
               for k, v in st.items()}
    save_file(moments, str(tmp / "optimizer.safetensors"))
    save_file({"torch": torch.get_rng_state()}, str(tmp / "rng.safetensors"))
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in opt["param_groups"]]
    state = {"step": progress.step, "total": progress.total, "settings": progress.settings,
             "losses": list(progress.losses), "segments": list(progress.segments),
             "curve_done": list(progress.curve_done),
             "scheduler": scheduler.state_dict(), "param_groups": groups}
    (tmp / "state.json").write_text(json.dumps(state, indent=1) + "\n")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def progress(folder: Path) -> Progress | None:
    """The progress recorded in ``folder``'s checkpoint, or None when it has none."""
    path = _latest(folder)
    if path is None:
        return None
    try:
        state = json.loads((path / "state.json").read_text())
        return Progress(state["step"], state["total"], state["settings"], tuple(state["losses"]),
                        tuple(state["segments"]), tuple(state["curve_done"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"the checkpoint {path} is damaged ({type(exc).__name__}: {exc}); start a new run "
                              "with another --run-dir or remove this one") from None


def restore(folder: Path, model, optimizer, scheduler) -> Progress:
    """Load ``folder``'s checkpoint into the model, optimiser and scheduler (built as for a new run
    with the same settings) and torch's random state; returns its progress."""
    import torch
    from safetensors.torch import load_file

    found = progress(folder)
    path = _latest(folder)
    if found is None or path is None:
        raise CheckpointError(f"no checkpoint in {folder}; run without --resume to start one")
    try:
        weights = load_file(str(path / "model.safetensors"))
        moments = load_file(str(path / "optimizer.safetensors"))
        rng = load_file(str(path / "rng.safetensors"))["torch"]
        state = json.loads((path / "state.json").read_text())
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"the checkpoint {path} is damaged ({type(exc).__name__}); start a new run with "
                              "another --run-dir or remove this one") from None
    trained = _trained(model)
    if set(weights) != set(trained):
        raise CheckpointError(f"the checkpoint {path} holds other tensors than this model trains; it belongs to "
                              "another run")
    with torch.no_grad():
        for k, v in weights.items():
            trained[k].copy_(v)
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in moments.items():
        i, name = key.split(".", 1)
        per_param.setdefault(int(i), {})[name] = v
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in state["param_groups"]]
    optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(rng)
    return found


def _trained(model) -> dict:
    """The model's tensors that training changes (frozen ones come from the base model)."""
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    return {k: v for k, v in model.state_dict().items() if k not in frozen and not k.endswith("position_ids")}


def _latest(folder: Path) -> Path | None:
    for name in (CHECKPOINT, f"{CHECKPOINT}.old"):  # .old: a run killed between the two renames
        if (folder / name / "state.json").is_file():
            return folder / name
    return None
