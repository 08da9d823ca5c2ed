"""The learner's own sweep in lesson 05: the shipped experiment, small enough to train while
reading.

Quick mode (``RESNEXT_EDU_QUICK=1``, the course's tests): three cardinalities, one seed, one epoch
on 1,000 images: a check that the machinery works on your machine, with numbers too noisy to mean
anything. Default mode: all six cardinalities, two seeds, three epochs on 2,000 images (several
minutes on a laptop CPU). Both use the lesson budget, so their configs are exactly the shipped ones;
only the training is shorter."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from .configs import DEFAULT_CARDINALITIES, cardinality_configs, plan
from .run import RunOptions, SweepOutcome, SweepSettings, run_sweep, sweep_argv


@dataclass(frozen=True)
class LearnerSweep:
    """What the lesson's train button runs."""

    budget: str
    cardinalities: tuple[int, ...]
    seeds: tuple[int, ...]
    settings: SweepSettings


def learner_sweep(quick: bool) -> LearnerSweep:
    """The lesson's sweep in quick or default mode (the module docstring)."""
    if quick:
        cardinalities, seeds, epochs, images = (1, 4, 32), (0,), 1, 1000
    else:
        cardinalities, seeds, epochs, images = DEFAULT_CARDINALITIES, (0, 1), 3, 2000
    settings = SweepSettings.for_budget(
        "lesson", epochs=epochs, subset=images, test_subset=500, final_test_subset=images
    )
    return LearnerSweep("lesson", cardinalities, seeds, settings)


def train_learner_sweep(
    spec: LearnerSweep,
    out_dir: str | os.PathLike,
    print_fn: Callable[[str], None] = print,
    data=None,
    on_epoch=None,
) -> SweepOutcome:
    """Run ``spec`` into ``out_dir`` (resumable: pressing the button again continues where it
    stopped)."""
    runs = plan(cardinality_configs(spec.budget, spec.cardinalities), spec.seeds)
    command = "resnext_edu.sweep.learner.train_learner_sweep, equivalent to: " + shlex.join(
        sweep_argv(spec.budget, spec.cardinalities, spec.seeds, spec.settings, str(out_dir))
    )
    options = RunOptions(
        data=data,
        command=command,
        progress=False,
        print_fn=print_fn,
        on_epoch=on_epoch,
        threads=threads_for_a_busy_cpu(),
    )
    return run_sweep(runs, spec.settings, out_dir, options)


def threads_for_a_busy_cpu() -> int | None:
    """1 when the CPU is already busy (load average above its core count), else None (PyTorch's
    choice).

    PyTorch's CPU threads wait for each other at every operation; when other programs hold the
    cores, one slow thread stalls them all, and two threads can train several times slower than one
    (measured on this course's shared 2-core machine). On an idle laptop or Colab, PyTorch's default
    is the faster choice."""
    try:
        busy = os.getloadavg()[0] > (os.cpu_count() or 1)
    except OSError:  # no load average (Windows)
        return None
    return 1 if busy else None
