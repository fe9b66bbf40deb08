"""Mutation testing of the council's rule modules (run it as `bin/mutate [module ...]`).

Functions are mutated by mutmut (configured in pyproject.toml's [tool.mutmut]), with the test
selection narrowed to the module's own tests (tests/mutation/modules.toml). mutmut 3 leaves
module-level tables and properties alone, so a small mutator here changes each entry of the
listed tables and applies mutmut's own operators to the listed properties. A mutant that cannot
change behaviour is listed in tests/mutation/equivalent.toml with its reason; every other
survivor is a test to write.
"""

from __future__ import annotations
import __future__

import argparse
import datetime as dt
import difflib
import enum
import fnmatch
import importlib
import json
import os
import signal
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from core.workflow import Workflow, anyone

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TARGET = 90.0
STAGE_SECONDS = 600  # the budget of each stage of a module; past it the run stops and says so
KILLED = frozenset({"killed", "timeout", "caught by type check"})


@dataclass(frozen=True)
class Plan:
    """A rule module and the tests that exercise it."""

    path: str
    tests: list[str]
    functions: list[str]
    tables: list[str]
    properties: list[str]

    @property
    def module(self) -> str:
        """The dotted module name."""
        return self.path.removesuffix(".py").replace("/", ".")

    def existing_tests(self) -> list[str]:
        """The listed test files that exist."""
        return [test for test in self.tests if (ROOT / test).exists()]


@dataclass(frozen=True)
class Outcome:
    """One mutant and what the tests made of it."""

    name: str
    status: str
    change: str


@dataclass(frozen=True)
class Equivalent:
    """A mutant that cannot change behaviour, with the change it makes and why it is harmless."""

    change: str
    reason: str


def load_plans() -> dict[str, Plan]:
    """The modules to check, by path."""
    data = tomllib.loads((HERE / "modules.toml").read_text("utf-8"))
    return {path: Plan(path=path, **entry) for path, entry in data["modules"].items()}


def load_equivalents() -> dict[str, Equivalent]:
    """The equivalent mutants, by name."""
    data = tomllib.loads((HERE / "equivalent.toml").read_text("utf-8"))
    return {
        entry["mutant"]: Equivalent(change=entry["change"], reason=entry["reason"])
        for entry in data.get("equivalent", [])
    }


# Running in a child ----------------------------------------------------------------------------


def _in_child(work: Callable[[], int], *, log: Path | None, seconds: int) -> int:
    """Run `work` in a forked process group; its exit code, or -9 when it ran out of time."""
    pid = os.fork()
    if pid == 0:
        os.setpgrp()
        target = os.open(log if log else os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, 1)
        os.dup2(target, 2)
        code = 99
        try:
            code = work()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -9


# mutmut: the module's functions -----------------------------------------------------------------


def _mutmut_run(plan: Plan) -> int:
    # This process has the project's `tests` package loaded from the root; mutmut's pytest must
    # import the copy under mutants/ instead, so forget the root one.
    for name in [n for n in sys.modules if n == "tests" or n.startswith("tests.")]:
        del sys.modules[name]
    from mutmut.__main__ import _run
    from mutmut.configuration import config

    config().pytest_add_cli_args_test_selection = plan.existing_tests()
    _run([f"{plan.module}.{pattern}" for pattern in plan.functions], 1)
    return 0


def _lines(diff: Iterator[str] | list[str], sign: str) -> list[str]:
    return [line[1:].strip() for line in diff if line[:1] == sign and line[:3] != sign * 3]


def _change_of(diff: str) -> str:
    added, removed = _lines(diff.splitlines(), "+"), _lines(diff.splitlines(), "-")
    return " | ".join(added) if added else "removed: " + " | ".join(removed)


def mutmut_outcomes(plan: Plan, seconds: int) -> tuple[list[Outcome], str | None]:
    """Run mutmut on the module's functions; the outcomes, and a problem if it did not finish."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    log = ROOT / "mutants" / f"mutmut-{plan.module}.log"
    log.parent.mkdir(exist_ok=True)
    code = _in_child(lambda: _mutmut_run(plan), log=log, seconds=seconds)
    data = SourceFileMutationData(path=plan.path)
    data.load()
    patterns = [f"{plan.module}.{pattern}" for pattern in plan.functions]
    outcomes, unchecked = [], 0
    for name, exit_code in sorted(data.exit_code_by_key.items()):
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            continue
        if exit_code is None:
            unchecked += 1
            continue
        status = status_by_exit_code[exit_code]
        change = "" if status in KILLED else _change_of(get_diff_for_mutant(name, path=plan.path))
        outcomes.append(Outcome(name, status, change))
    if code != 0:
        where = log.relative_to(ROOT)
        return outcomes, f"mutmut stopped (exit {code}), {unchecked} mutants unchecked; see {where}"
    return outcomes, None


# The small mutator: tables and properties ------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    """A change the small mutator makes in the running module before the tests run."""

    name: str
    change: str
    apply: Callable[[], None]


def _show(value: Any) -> str:
    return value.name if isinstance(value, enum.Enum) else repr(value)


def _enum_of(items: list[Any]) -> type[enum.Enum] | None:
    return type(items[0]) if items and isinstance(items[0], enum.Enum) else None


Variant = tuple[str, Any]


def _set_variants(value: frozenset[Any], universe: type[enum.Enum] | None) -> Iterator[Variant]:
    items = sorted(value, key=_show)
    for item in items:
        yield f"- {_show(item)}", frozenset(value - {item})
    for member in list(universe or _enum_of(items) or []):
        if member not in value:
            yield f"+ {_show(member)}", frozenset(value | {member})


def _variants(value: Any, universe: type[enum.Enum] | None = None) -> Iterator[tuple[str, Any]]:
    """Each one-entry change of a table value, described."""
    if isinstance(value, dict):
        for key, inner in value.items():
            for text, changed in _variants(inner, _enum_of(list(value))):
                yield f"[{_show(key)}] {text}", {**value, key: changed}
    elif isinstance(value, frozenset):
        yield from _set_variants(value, universe)
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield f"- {_show(item)}", value[:index] + value[index + 1 :]
    elif isinstance(value, Workflow):
        yield from _workflow_variants(value)
    elif isinstance(value, dt.timedelta):
        step = dt.timedelta(days=1) if value >= dt.timedelta(days=1) else dt.timedelta(seconds=1)
        yield f"{value} -> {value + step}", value + step
        yield f"{value} -> {value - step}", value - step
    elif isinstance(value, int) and not isinstance(value, bool):
        yield f"{value} -> {value + 1}", value + 1
        yield f"{value} -> {value - 1}", value - 1


def _workflow_variants(workflow: Workflow[Any, Any]) -> Iterator[Variant]:
    """A workflow without one of its steps, or with a step's rules (who may, when) lifted."""
    steps = workflow.steps
    for index, step in enumerate(steps):
        target = _show(step.target) if step.target is not None else "="
        label = f"{step.action} {_show(step.source)}->{target}"
        before, after = steps[:index], steps[index + 1 :]
        yield f"- step {label}", Workflow([*before, *after])
        if step.may is not anyone:
            lifted = replace(step, may=anyone)
            yield f"step {label}: anyone may", Workflow([*before, lifted, *after])
        if step.guard is not anyone:
            lifted = replace(step, guard=anyone)
            yield f"step {label}: unguarded", Workflow([*before, lifted, *after])


def _replace_everywhere(module: ModuleType, name: str, new: Any) -> None:
    old = getattr(module, name)
    setattr(module, name, new)
    if isinstance(old, int):
        return  # small ints are shared objects; only the module's own name is the table
    for other in list(sys.modules.values()):
        namespace = getattr(other, "__dict__", None)
        if isinstance(namespace, dict):
            for key, value in list(namespace.items()):
                if value is old:
                    namespace[key] = new


def table_mutants(module: ModuleType, names: list[str]) -> Iterator[Mutant]:
    """One mutant per entry added to or removed from each listed table (or constant changed)."""
    for name in names:
        for text, changed in _variants(getattr(module, name)):

            def apply(name: str = name, changed: Any = changed) -> None:
                _replace_everywhere(module, name, changed)

            yield Mutant(f"{module.__name__}.{name} {text}", f"{name} {text}", apply)


def property_mutants(module: ModuleType, path: str, names: list[str]) -> Iterator[Mutant]:
    """mutmut's operators applied to the body of each listed property."""
    import libcst as cst
    from mutmut.mutation.file_mutation import create_mutations

    tree = cst.parse_module((ROOT / path).read_text("utf-8"))
    for qualified in names:
        class_name, attribute = qualified.split(".")
        owner = next(
            node
            for node in tree.body
            if isinstance(node, cst.ClassDef) and node.name.value == class_name
        )
        assert isinstance(owner.body, cst.IndentedBlock)
        function = next(
            node
            for node in owner.body.body
            if isinstance(node, cst.FunctionDef) and node.name.value == attribute
        )
        source = cst.Module(body=[function.with_changes(decorators=[], leading_lines=[])]).code
        parsed, mutations, _classes, _functions = create_mutations(path, source)
        for number, mutation in enumerate(mutations, start=1):
            changed = parsed.deep_replace(mutation.original_node, mutation.mutated_node)
            assert isinstance(changed, cst.Module)
            code = changed.code
            diff = difflib.unified_diff(source.splitlines(), code.splitlines(), lineterm="")
            change = " | ".join(_lines(list(diff), "+"))

            def apply(code: str = code, owner: str = class_name, name: str = attribute) -> None:
                namespace: dict[str, Any] = {}
                flags = __future__.annotations.compiler_flag
                compiled = compile(code, path, "exec", flags=flags, dont_inherit=True)
                exec(compiled, vars(module), namespace)
                setattr(getattr(module, owner), name, property(namespace[name]))

            yield Mutant(f"{module.__name__}.{qualified}__mutant_{number}", change, apply)


def _pytest(tests: list[str], before: Callable[[], None] | None = None) -> Callable[[], int]:
    def work() -> int:
        import pytest

        if before is not None:
            try:
                before()
            except Exception:
                return 98
        options = ["-x", "-q", "-p", "no:cacheprovider", "--tb=no"]
        # The project is imported before pytest starts, which pytest warns about (and the
        # suite turns warnings into errors).
        options += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        return int(pytest.main([*tests, *options]))

    return work


def _small_mutator_run(plan: Plan, result_file: Path, seconds: int) -> int:
    os.chdir(ROOT)
    module = importlib.import_module(plan.module)
    import pytest  # noqa: F401  (imported once here, not in every mutant's process)

    tests = plan.existing_tests()
    mutants = [
        *table_mutants(module, plan.tables),
        *property_mutants(module, plan.path, plan.properties),
    ]
    started = time.monotonic()
    if _in_child(_pytest(tests), log=None, seconds=seconds) != 0:
        print("the tests fail without any mutant")
        return 1
    each = max(30, int((time.monotonic() - started) * 10))
    results = []
    for mutant in mutants:
        code = _in_child(_pytest(tests, mutant.apply), log=None, seconds=each)
        status = {0: "survived", 1: "killed", 2: "killed", -9: "timeout", 98: "error"}.get(
            code, f"exit {code}"
        )
        results.append({"name": mutant.name, "status": status, "change": mutant.change})
        # Written after each mutant, so a run stopped by its budget still reports what it saw.
        result_file.write_text(json.dumps({"results": results, "total": len(mutants)}), "utf-8")
    return 0


def small_mutator_outcomes(plan: Plan, seconds: int) -> tuple[list[Outcome], str | None]:
    """Run the module's tests against each table and property mutant."""
    if not plan.tables and not plan.properties:
        return [], None
    result_file = ROOT / "mutants" / f"tables-{plan.module}.json"
    log = ROOT / "mutants" / f"tables-{plan.module}.log"
    log.parent.mkdir(exist_ok=True)
    result_file.unlink(missing_ok=True)
    code = _in_child(
        lambda: _small_mutator_run(plan, result_file, seconds), log=log, seconds=seconds
    )
    data = json.loads(result_file.read_text("utf-8")) if result_file.exists() else None
    outcomes = [Outcome(**entry) for entry in data["results"]] if data else []
    if code != 0 or data is None or len(outcomes) < data["total"]:
        where = log.relative_to(ROOT)
        unchecked = data["total"] - len(outcomes) if data else "all"
        return outcomes, (
            f"the table and property mutator stopped (exit {code}), {unchecked} mutants "
            f"unchecked; see {where}"
        )
    return outcomes, None


# Report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """A module's result."""

    path: str
    total: int
    killed: int
    equivalent: int
    survivors: list[Outcome]
    stale: list[str]
    problems: list[str]

    @property
    def percent(self) -> float:
        """Killed mutants among those that can change behaviour."""
        counted = self.total - self.equivalent
        return 100.0 * self.killed / counted if counted else 100.0

    @property
    def ok(self) -> bool:
        """No real survivor, no stale equivalent, the target met, nothing broke."""
        return not (self.survivors or self.stale or self.problems) and self.percent >= TARGET


def score_module(
    plan: Plan, equivalents: dict[str, Equivalent], seconds: int, stages: str = "all"
) -> Score:
    """Mutate one module and judge the outcomes against the list of equivalent mutants."""
    problems = [f"test file missing: {t}" for t in plan.tests if t not in plan.existing_tests()]
    outcomes: list[Outcome] = []
    if stages in ("all", "functions"):
        found, problem = mutmut_outcomes(plan, seconds)
        outcomes += found
        problems += [problem] if problem else []
    if stages in ("all", "tables"):
        found, problem = small_mutator_outcomes(plan, seconds)
        outcomes += found
        problems += [problem] if problem else []
    survivors, stale, equivalent, killed = [], [], 0, 0
    for outcome in outcomes:
        listed = equivalents.get(outcome.name)
        if outcome.status in KILLED:
            killed += 1
            if listed:
                stale.append(f"{outcome.name} is listed as equivalent but is killed")
        elif listed and listed.change == outcome.change:
            equivalent += 1
        else:
            if listed:
                stale.append(f"{outcome.name} is listed for another change: {listed.change}")
            survivors.append(outcome)
    return Score(plan.path, len(outcomes), killed, equivalent, survivors, stale, problems)


def report(score: Score) -> None:
    """Print a module's score and its real survivors."""
    print(
        f"{score.path}: {score.percent:.1f}% — {score.total} mutants, {score.killed} killed, "
        f"{score.equivalent} equivalent, {len(score.survivors)} surviving",
        flush=True,
    )
    for outcome in score.survivors:
        print(f"  {outcome.status}: {outcome.name}\n      {outcome.change}")
    for line in score.stale + score.problems:
        print(f"  ! {line}")


def main(argv: list[str] | None = None) -> int:
    """Check the modules named (all by default); exit 1 unless every one is clean."""
    parser = argparse.ArgumentParser(prog="bin/mutate", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module paths, e.g. council/ballots.py")
    parser.add_argument("--seconds", type=int, default=STAGE_SECONDS, help="budget per stage")
    parser.add_argument(
        "--only",
        choices=["functions", "tables"],
        help="run only mutmut (functions) or only the table and property mutator",
    )
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    plans = load_plans()
    unknown = [m for m in args.modules if m not in plans]
    if unknown:
        parser.error(f"not in tests/mutation/modules.toml: {', '.join(unknown)}")
    equivalents = load_equivalents()
    scores = []
    for path in args.modules or list(plans):
        print(f"== {path}", flush=True)
        scores.append(score_module(plans[path], equivalents, args.seconds, args.only or "all"))
        report(scores[-1])
    print("\n== scores")
    for score in scores:
        print(f"{score.percent:6.1f}%  {score.path}{'' if score.ok else '  (not clean)'}")
    return 0 if all(score.ok for score in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
