"""Complexity-matched cardinality sweeps: which models, how they train, their results (lesson 05).

The paper's central experiment (Xie et al. 2017, Table 3; Table 4 for 2x complexity), at a scale a
learner can run: models of equal parameter count (and about equal MACs) that differ in how they
spend them, C parallel transformations of width d. Modules:

* :mod:`.configs`: budgets, the complexity-matched models (the width solver), Table 4's models, the
  runs
* :mod:`.run`: a sweep's settings, and training each (model, seed) into its own result file
  (resumable, locked)
* :mod:`.results`: reading result files, mean +- std over seeds, differences with Welch's t-test
* :mod:`.figures`: every plot; :mod:`.report`: what ``sweep-report`` prints and saves
* :mod:`.learner`: the lesson's train button

What a sweep's user calls is importable from here; the rest from its module."""

from .configs import (
    BUDGETS,
    SweepConfig,
    cardinality_configs,
    config_table,
    plan,
    table4_configs,
)
from .report import (
    table4_table,
    write_report,
)
from .results import (
    METRICS,
    RESULT_FORMAT,
    SHIPPED,
    Gathered,
    compare_to_baseline,
    comparison_table,
    difference,
    gather,
    shipped,
    summarize,
    summary_table,
)
from .run import (
    RECIPES,
    RunOptions,
    SweepConflict,
    SweepSettings,
    run_sweep,
    settings_from_args,
    sweep_argv,
)

__all__ = [
    "BUDGETS",
    "METRICS",
    "RECIPES",
    "RESULT_FORMAT",
    "SHIPPED",
    "Gathered",
    "RunOptions",
    "SweepConfig",
    "SweepConflict",
    "SweepSettings",
    "cardinality_configs",
    "compare_to_baseline",
    "comparison_table",
    "config_table",
    "difference",
    "gather",
    "plan",
    "run_sweep",
    "settings_from_args",
    "shipped",
    "summarize",
    "summary_table",
    "sweep_argv",
    "table4_configs",
    "table4_table",
    "write_report",
]
