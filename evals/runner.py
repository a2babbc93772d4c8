"""Runs the selected suites in order with a progress bar and returns their results."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import graphs
import knowledge
import tools
from evals.cases import DATASET_FILES, EXTERNAL_CORPORA, SHARED_CORPORA, DatasetError, load_file, select
from evals.harness import EvalEnv
from evals.results import SuiteResult
from evals.suite_conversations import run_conversations
from evals.suite_knowledge import knowledge_metrics, run_knowledge
from evals.suite_policy import run_policy
from evals.suite_routing import run_routing
from evals.suite_safety import run_safety

SAMPLE_CORPUS = Path(knowledge.__file__).resolve().parent / "corpus"
SAMPLE_DATA = Path(tools.__file__).resolve().parent / "sample_data"
SHIPPED_POLICY = Path(graphs.__file__).resolve().parent / "governance" / "policy.yaml"
FAST_KNOWLEDGE_EVERY = 2  # --fast keeps every 2nd knowledge question (both sets), all other cases


@dataclass
class Options:
    suites: list[str]
    tags: list[str] = field(default_factory=list)
    limit: int | None = None
    jobs: int = 1
    fast: bool = False
    corpus: Path | None = None
    dataset: Path | None = None
    shared_corpora: Path = SHARED_CORPORA  # where the public handbooks of the knowledge_* suites live

    @property
    def partial(self) -> bool:
        """A run over an ad-hoc part of the datasets: not comparable with the baseline (--fast is: the
        baseline keeps the metrics of its fixed subset too)."""
        return bool(self.tags) or self.limit is not None or self.corpus is not None

    def baseline_metrics(self, baseline: dict[str, Any]) -> dict[str, float] | None:
        """The baseline figures this run is comparable with, if any."""
        if self.partial:
            return None
        return dict(baseline.get("fast_metrics" if self.fast else "metrics") or {})


@dataclass
class Plan:
    name: str
    kind: str  # knowledge | routing | policy | conversations | safety
    cases: list[dict[str, Any]]
    corpus: Path | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None


def external_name(dataset: Path) -> str:
    stem = re.sub(r"[^a-z0-9_]+", "_", dataset.stem.lower()).strip("_") or "corpus"
    return stem if stem.startswith("knowledge") else f"knowledge_{stem}"


def plan(options: Options) -> list[Plan]:
    """Load and select every suite's cases first, so a dataset error stops the run before any work."""
    plans = []
    if options.corpus is not None:
        if options.dataset is None:
            raise DatasetError("--corpus needs --dataset FILE (questions in the knowledge.jsonl schema)")
        if not options.corpus.is_dir():
            raise DatasetError(f"{options.corpus}: not a folder")
        cases = select(load_file(options.dataset)["cases"], options.tags, options.limit)
        return [Plan(external_name(options.dataset), "knowledge", _thin(cases, options), options.corpus)]
    for name in options.suites:
        data = load_file(DATASET_FILES[name])
        cases = select(data["cases"], options.tags, options.limit)
        kind = "knowledge" if name.startswith("knowledge") else name
        corpus = SAMPLE_CORPUS
        external = EXTERNAL_CORPORA.get(name)
        if external is not None:
            corpus = options.shared_corpora / external[0]
        p = Plan(
            name,
            kind,
            _thin(cases, options) if kind == "knowledge" else cases,
            corpus,
            list(data.get("documents", [])),
        )
        if external is not None and not corpus.is_dir():
            # Said in the report and the summary, never a silent pass: the suite's metrics are not judged.
            p.skipped = f"{external[1]} is not at {corpus} (pass --shared-corpora DIR, or --corpus DIR --dataset FILE)"
        if not cases and p.skipped is None:
            p.skipped = "no case matches the selection"
        plans.append(p)
    return plans


def _thin(cases: list[Any], options: Options) -> list[Any]:
    return cases[::FAST_KNOWLEDGE_EVERY] if options.fast else cases


def fast_view(suites: list[SuiteResult]) -> list[SuiteResult]:
    """What a --fast run of the same code would measure, worked out from a full run's per-case results."""
    out = []
    for s in suites:
        if s.skipped is None and s.name.startswith("knowledge"):
            cases = s.cases[::FAST_KNOWLEDGE_EVERY]
            out.append(SuiteResult(s.name, metrics=knowledge_metrics(cases), cases=cases))
        else:
            out.append(s)
    return out


def progress_bar(console: Any = None) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def run(env: EvalEnv, plans: list[Plan], options: Options, progress: Progress | None = None) -> list[SuiteResult]:
    tasks = {
        p.name: progress.add_task(p.name, total=len(p.cases) if not p.skipped else 0) if progress else None
        for p in plans
    }

    def ticker(name: str) -> Callable[[], None]:
        def tick() -> None:
            task = tasks[name]
            if progress is not None and task is not None:
                progress.advance(task)

        return tick

    results = []
    sample_index: Path | None = None
    for p in plans:
        if p.skipped:
            results.append(SuiteResult(p.name, skipped=p.skipped))
            continue
        started = time.perf_counter()
        if p.kind == "knowledge":
            assert p.corpus is not None
            # An outside corpus gets a temporary index, thrown away after the run.
            result = await run_knowledge(
                env,
                p.name,
                p.corpus,
                p.cases,
                jobs=options.jobs,
                done=ticker(p.name),
                temporary=options.corpus is not None,
            )
        else:
            sample_index = sample_index or env.index([SAMPLE_CORPUS])
            if p.kind == "routing":
                result = await run_routing(env, sample_index, p.cases, done=ticker(p.name))
            elif p.kind == "policy":
                result = await run_policy(env, sample_index, p.cases, done=ticker(p.name))
            elif p.kind == "conversations":
                result = await run_conversations(env, sample_index, p.cases, jobs=options.jobs, done=ticker(p.name))
            else:
                result = await run_safety(
                    env, sample_index, SAMPLE_CORPUS, p.documents, p.cases, jobs=options.jobs, done=ticker(p.name)
                )
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results


def eval_settings(settings: Any) -> Any:
    """The app's settings pinned to the shipped sample world: the datasets are written against it."""
    return settings.model_copy(
        update={"sample_data": SAMPLE_DATA, "policy_file": SHIPPED_POLICY, "knowledge_dir": [SAMPLE_CORPUS]}
    )
