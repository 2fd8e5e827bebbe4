"""``planner batch``: solve every variant of a batch file, in parallel, into a resumable store.

Pipeline: read the batch file (:mod:`planner.studies.batchfile`) -> expand it into variants -> open the
store (:mod:`planner.studies.store`; with ``resume`` only the variants without a result are solved) ->
solve on workers, each holding one live model and one persistent HiGHS object
(:class:`planner.solver.persistent.Resolver`) -> record each result in its own transaction (parent
process only) -> export CSV / Parquet -> summary (:mod:`planner.studies.batchsummary`).

Workers:

* ``workers=1`` (and no scheduler): in this process;
* ``workers=N``: N worker processes (``spawn``), HiGHS on one thread each; default one per core;
* ``scheduler="tcp://host:port"``: the same tasks on a dask.distributed cluster
  (``dask.distributed.Client(address)``); every machine needs ``planner`` installed, not the
  instance files: the base instance travels with the tasks, CSV series already written out.

A failed variant (bad override, infeasible, no plan within the time limit, an unexpected error)
is recorded with its status and message; the batch goes on.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from planner.errors import InputError
from planner.instance.loading import InstanceData, load_raw, validate_dict
from planner.instance.measures import PACKAGE_PATH
from planner.outputs.runfolder import MARKER, check_target, write_marker
from planner.solver.persistent import Outcome, Resolver
from planner.studies.batchfile import (
    batch_key,
    check_packages,
    check_variants,
    dispatch_order,
    load_batch,
)
from planner.studies.store import OK_STATUSES, BatchStore


class BatchError(Exception):
    """The batch could not go on (a worker process died, the cluster went away); finished
    variants are in the store and ``--resume`` continues."""


@dataclass
class BatchReport:
    folder: Path
    total: int
    solved_now: int
    statuses: dict = field(default_factory=dict)
    rebuilt: int = 0
    table: object = None  # percentiles (pandas DataFrame)
    differences: object = None  # paired package differences (DataFrame), or None
    files: list = field(default_factory=list)
    seconds: float = 0.0


def base_instance(path: Path) -> dict:
    """The base instance as plain data, validated, with CSV series written out as lists."""
    return _base(path)[0]


def _base(path: Path) -> tuple[dict, InstanceData]:
    """:func:`base_instance` and the instance validated."""
    raw = load_raw(path)
    d = validate_dict(raw, path)
    raw = copy.deepcopy(raw)
    for dotted, values in d.series.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(leaf), str):
            node[leaf] = list(values)
    return raw, d


def _prepare(batch_path: Path):
    """The batch file read and expanded, its base instance as plain data, and the checks of the
    batch against that instance (its packages exist; a cost polish needs the weighted objective):
    (batch, base path, variants, base instance). Errors name the batch file."""
    batch, base_path, specs = load_batch(batch_path)
    base_raw, base = _base(base_path)
    try:
        check_packages(specs, base)
        check_variants(specs, base_raw, base)  # everything short of solving, before the first solve
        if batch.polish_cost and (batch.objective or base.instance.objective.mode) != "weighted":
            raise InputError("polish_cost", "only with the weighted objective (the lexicographic one minimises cost in its last stage)")
    except InputError as e:
        raise e.with_file(str(batch_path)) from None
    return batch, base_path, specs, base_raw


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- executors: each yields (spec, outcome, worker) as variants finish ----------------------


class InlineExecutor:
    def __init__(self, base_raw: dict, options: dict):
        self.resolver = Resolver(base_raw, options)

    def run(self, specs):
        for spec in specs:
            yield spec, self.resolver.solve_variant(spec.changes), worker_label()

    def close(self, cancel: bool = False) -> None:
        pass


_POOL_RESOLVER: Resolver | None = None


def _pool_init(base_raw: dict, options: dict) -> None:
    global _POOL_RESOLVER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _POOL_RESOLVER = Resolver(base_raw, options)


def _pool_task(changes: list) -> tuple[Outcome, str]:
    return _POOL_RESOLVER.solve_variant(changes), worker_label()


def _task_result(fut) -> tuple[Outcome, str]:
    """A finished task's (outcome, worker); a task that raised is a failed variant ("error")."""
    try:
        return fut.result()
    except BrokenProcessPool:
        raise
    except Exception as e:  # noqa: BLE001 - recorded with the variant, the batch goes on
        return Outcome("error", f"{type(e).__name__}: {e}"), ""


def _bounded(submit, specs, window: int, wait_some):
    """Keep at most ``window`` tasks in flight, submitted in ``specs`` order; yield as they finish."""
    it = iter(specs)
    pending = {}

    def more():
        spec = next(it, None)
        if spec is not None:
            pending[submit(spec)] = spec

    for _ in range(window):
        more()
    while pending:
        for fut in wait_some(list(pending)):
            spec = pending.pop(fut)
            yield spec, fut
            more()


class PoolExecutor:
    def __init__(self, base_raw: dict, options: dict, workers: int):
        self.workers = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_pool_init, initargs=(base_raw, options)
        )

    def run(self, specs):
        def wait_some(futs):
            done, _ = wait(futs, return_when=FIRST_COMPLETED)
            return done

        try:
            for spec, fut in _bounded(lambda s: self.pool.submit(_pool_task, s.changes), specs, 2 * self.workers, wait_some):
                yield spec, *_task_result(fut)
        except BrokenProcessPool:
            raise BatchError("a worker process died (out of memory, or killed); finished variants are stored, run again with --resume") from None

    def close(self, cancel: bool = False) -> None:
        if cancel:  # Ctrl-C or an error: stop the variants being solved (workers ignore SIGINT)
            for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
                proc.terminate()
        self.pool.shutdown(wait=not cancel, cancel_futures=True)


CONNECT_SECONDS = 5
"""How long ``--scheduler`` waits for the dask scheduler to answer."""

_DASK_RESOLVERS: dict[str, Resolver] = {}
_DASK_LOCK = threading.Lock()


def _dask_task(payload: tuple, changes: list) -> tuple[Outcome, str]:
    """On a dask worker: one Resolver per batch per worker process, kept between tasks. Tasks of
    one process take turns (a lock): a worker started with ``--nthreads 2`` would otherwise run
    two variants at once on the one live model. Parallelism comes from processes (``--nworkers``
    or one ``dask worker`` per core, each ``--nthreads 1``; see the README)."""
    key, base_raw, options = payload
    with _DASK_LOCK:
        resolver = _DASK_RESOLVERS.get(key)
        if resolver is None:
            _DASK_RESOLVERS.clear()  # one batch at a time per worker: free the previous model
            resolver = _DASK_RESOLVERS[key] = Resolver(base_raw, options)
        return resolver.solve_variant(changes), worker_label()


def _probe(address: str) -> None:
    """Refuse at once a TCP address where nothing listens (dask would retry until its timeout)."""
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme in ("tcp", "tls") and parts.hostname and parts.port:
        socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_SECONDS).close()


class DaskExecutor:
    def __init__(self, base_raw: dict, options: dict, key: str, address: str):
        try:
            from dask.distributed import Client
        except ImportError:  # pragma: no cover - a declared dependency
            raise BatchError("--scheduler needs dask.distributed (pip install 'dask[distributed]')") from None
        try:
            _probe(address)
            self.client = Client(address, timeout=f"{CONNECT_SECONDS}s")
        except (OSError, TimeoutError, ValueError) as e:
            # before the batch folder is made: bad input (exit 2), nothing left behind
            raise InputError("--scheduler", f"cannot reach a dask scheduler at {address} within {CONNECT_SECONDS} s ({' '.join(str(e).split())})") from None
        self.payload = self.client.scatter((key, base_raw, options), broadcast=True)
        workers = self.client.scheduler_info().get("workers", {})
        self.window = max(2, 2 * sum(w.get("nthreads", 1) for w in workers.values()))

    def run(self, specs):
        from dask.distributed import wait as dask_wait

        def wait_some(futs):
            return dask_wait(futs, return_when="FIRST_COMPLETED").done

        for spec, fut in _bounded(lambda s: self.client.submit(_dask_task, self.payload, s.changes, pure=False), specs, self.window, wait_some):
            yield spec, *_task_result(fut)

    def close(self, cancel: bool = False) -> None:
        self.client.close()


# --- the batch --------------------------------------------------------------------------------


def run_batch(
    batch_path,
    workers: int | None = None,
    scheduler: str | None = None,
    out=None,
    resume: bool = False,
    progress: bool = True,
    command: list | None = None,
    lang: str = "en",
) -> BatchReport:
    """Solve the batch file ``batch_path``; returns what was done (the store holds the rows).

    The batch folder must be new, empty or this tool's batch folder (``runfolder.check_target``;
    with ``resume`` it must exist); ``command`` (the command line) goes into its ``run.json``;
    ``lang``: the language of summary.html and summary.xlsx (en or nl)."""
    t_start = time.perf_counter()
    batch_path = Path(batch_path)
    batch, base_path, specs, base_raw = _prepare(batch_path)
    options = {"objective": batch.objective, "time_limit": batch.time_limit, "mip_gap": batch.mip_gap, "relax_integers": batch.relax_integers}
    if batch.polish_cost:  # only when set: a store made before the option existed still resumes
        options["polish_seconds"] = batch.polish_cost
    key = batch_key(base_raw, specs, options)
    folder = Path(out) if out else Path("results") / (batch.name or batch_path.stem)
    check_target(folder, "batch", must_exist=resume)  # the batch folder is the batch's own
    cluster = DaskExecutor(base_raw, options, key, scheduler) if scheduler else None  # reachable before anything is written
    try:
        store = BatchStore.open(folder, key, specs, resume, {"batch_file": batch_path, "base": base_path})
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    try:
        if not (folder / MARKER).exists():  # a new batch folder, or one of an earlier version
            write_marker(folder, "batch", command)
        done = store.done_ids()
        todo = [s for s in dispatch_order(specs) if s.id not in done]
        statuses: dict[str, int] = {}
        if cluster is not None and not todo:
            cluster.close()
        if todo:
            n = max(1, workers or os.cpu_count() or 1)
            n = min(n, len(todo)) if not scheduler else n
            if cluster is not None:
                executor = cluster
            elif n == 1:
                executor = InlineExecutor(base_raw, options)
            else:
                executor = PoolExecutor(base_raw, options, n)
            bar = _progress(len(specs), len(done), progress)
            cancel = True
            try:
                for spec, outcome, worker in executor.run(todo):
                    store.record(spec, outcome, worker)
                    statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
                    if bar is not None:
                        bar.update(1)
                        bad = sum(v for s, v in statuses.items() if s not in OK_STATUSES)
                        if bad:
                            bar.set_postfix_str(f"{bad} failed", refresh=False)
                cancel = False
            finally:
                if bar is not None:
                    bar.close()
                executor.close(cancel=cancel)
        from planner.studies.batchsummary import write_summary

        results, series = store.results(), store.series()
        files = store.export(folder, results, series)
        table, differences, figures = write_summary(folder, results, series, lang)
        return BatchReport(
            folder=folder,
            total=len(specs),
            solved_now=len(todo),
            statuses=results.status.value_counts().to_dict(),
            rebuilt=int(results.rebuilt.fillna(0).astype(bool).sum()),
            table=table,
            differences=differences,
            files=[store.path, *files, *figures],
            seconds=time.perf_counter() - t_start,
        )
    finally:
        store.close()


def describe_batch(batch_path, shown: int = 10) -> str:
    """What ``planner batch --list`` prints: the batch file read, validated and expanded, checked
    against its base instance as ``run_batch`` checks it, without solving: counts per origin and
    package, then the first ``shown`` variants with their changes."""
    batch_path = Path(batch_path)
    _, base_path, specs, _ = _prepare(batch_path)
    counts: dict[tuple, int] = {}
    for s in specs:
        counts[(s.group, s.package)] = counts.get((s.group, s.package), 0) + 1
    lines = [f"{batch_path}: {len(specs)} variants of {base_path}"]
    for (group, package), n in counts.items():
        lines.append(f"  {n:>6} {group}" + (f" @ {package}" if package else ""))
    for s in dispatch_order(specs)[:shown]:
        changes = ", ".join(_change_text(c) for c in s.changes)
        lines.append(f"  #{s.id} {s.name}: {changes or '(the base instance)'}")
    if len(specs) > shown:
        lines.append(f"  ... {len(specs) - shown} more (solve order)")
    return "\n".join(lines)


def _change_text(c: dict) -> str:
    """``path *= 1.2 from 2022-07``, ``package letter``."""
    if c["path"] == PACKAGE_PATH:
        return f"package {c['value']}"
    value = f"{c['value']:.6g}" if isinstance(c["value"], float) else repr(c["value"])
    op = {"set": "=", "scale": "*=", "add": "+="}[c["op"]]
    return f"{c['path']} {op} {value}" + (f" from {c['from_period']}" if c.get("from_period") else "")


def _progress(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="scenario", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def report_line(r: BatchReport) -> str:
    """The last line ``planner batch`` prints."""
    ok = sum(v for s, v in r.statuses.items() if s in OK_STATUSES)
    failed = {s: v for s, v in r.statuses.items() if s not in OK_STATUSES}
    failed_text = f", {sum(failed.values())} failed ({', '.join(f'{v} {s}' for s, v in sorted(failed.items()))})" if failed else ""
    return (
        f"{r.total} scenarios: {ok} with a plan{failed_text}; {r.rebuilt} rebuilt (structural changes); "
        f"{r.solved_now} solved in this run, {r.seconds:,.1f} s; written to {r.folder}"
    )
