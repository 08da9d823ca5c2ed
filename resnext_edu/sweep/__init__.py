"""Complexity-matched cardinality sweeps: configurations, a resumable runner, result files, report (lesson 05).

The paper's central experiment (Xie et al. 2017, Table 3; Table 4 for 2x complexity), at a scale a learner can
run: models of equal parameter count (and about equal MACs) that differ in how they spend them, C parallel
transformations of width d. Modules:

* :mod:`.configs`: budgets and the complexity-matched models (the width solver), the table printed before training
* :mod:`.settings`: the runs of a sweep (:func:`plan`), how every run trains (:class:`SweepSettings`), its data
* :mod:`.runner`: training each (model, seed) into its own result file; resume, skip, ownership, ``--list``
* :mod:`.folder`: a sweep folder's files, run ownership and the event log
* :mod:`.results`: reading result folders (corrupt and foreign files are reported and skipped), mean +- std
* :mod:`.evidence`: differences in units of their standard error, and the sentences that say what they show
* :mod:`.report`: the table and the plots; the paper's numbers beside (never mixed with) the measured ones
* :mod:`.figures`: the tiny and the full sweep side by side in test error, Fig. 5's curves, time against MACs
* :mod:`.commands`: ``python -m resnext_edu sweep`` and ``sweep-report``
"""

from .commands import add_report_arguments, add_sweep_arguments, main_report, main_sweep, sweep_argv, sweep_status
from .configs import (BUDGETS, Budget, SweepConfig, cardinality_configs, config_table, get_budget,
                      max_cardinality, table4_configs)
from .evidence import (Difference, compare_to_baseline, comparison_table, differences, say_difference, say_fig5,
                       say_table4, say_time)
from .results import (METRICS, SHIPPED, Gathered, Result, ResultError, gather, load_result, shipped, summarize,
                      summary_table)
from .folder import RESULT_FORMAT
from .inventory import SweepConflict, SweepOutcome
from .runner import run_sweep
from .settings import Run, SweepSettings, plan

__all__ = ["BUDGETS", "Budget", "SweepConfig", "cardinality_configs", "config_table", "get_budget",
           "max_cardinality", "table4_configs", "METRICS", "SHIPPED", "Gathered", "Result", "ResultError", "gather",
           "compare_to_baseline", "comparison_table", "Difference", "differences", "say_difference", "say_fig5",
           "say_table4", "say_time",
           "load_result", "shipped", "summarize", "summary_table", "RESULT_FORMAT", "Run", "SweepConflict",
           "SweepOutcome", "SweepSettings", "plan", "run_sweep", "add_report_arguments", "add_sweep_arguments",
           "main_report", "main_sweep", "sweep_argv", "sweep_status"]
