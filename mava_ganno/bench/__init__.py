"""``ganno bench``: a benchmark of real training tasks that answers "will GANNO help my run?".

Tasks and suites: ``mava_ganno.bench.tasks``; metrics and their aggregation (IQM, bootstrap
CIs, performance profile): ``mava_ganno.bench.metrics``; outputs: ``mava_ganno.bench.report``;
the command and ``run_bench``: ``mava_ganno.bench.cli``.
"""

from mava_ganno.bench.cli import BENCH_METHODS, run_bench
from mava_ganno.bench.metrics import TaskScores, aggregate, method_results, task_scores
from mava_ganno.bench.tasks import SUITES, BenchTask, Suite, get_suite

__all__ = [
    "BENCH_METHODS",
    "SUITES",
    "BenchTask",
    "Suite",
    "TaskScores",
    "aggregate",
    "get_suite",
    "method_results",
    "run_bench",
    "task_scores",
]
