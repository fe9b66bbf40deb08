"""House rules: import direction, migrations matching models, documented settings."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from core.schema import PROJECT_ROOT, alembic_config
from core.settings import Settings
from core.templating import environment
from council.app import create_app
from council.metadata import target_metadata
from quality_marks.registry_models import include_object

# Each package may import only the packages to its left.
LAYERS = ["core", "guidelines", "quality_marks", "council"]


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_packages_import_only_downwards() -> None:
    violations: list[str] = []
    for index, package in enumerate(LAYERS):
        forbidden = set(LAYERS[index + 1 :])
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            bad = _imported_packages(path) & forbidden
            violations.extend(f"{path.relative_to(PROJECT_ROOT)} imports {name}" for name in bad)
    assert violations == []


def test_no_utils_modules() -> None:
    found = [
        str(path.relative_to(PROJECT_ROOT))
        for package in LAYERS
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if path.stem in {"utils", "helpers"}
    ]
    assert found == []


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(context, target_metadata)
    assert diff == []


def _migration_order(name: str) -> tuple[str, int]:
    date, sequence = re.match(r"(\d{4}_\d{2}_\d{2})_(\d+)_", name).groups()  # type: ignore[union-attr]
    return date, int(sequence)


def test_migration_history_is_linear_with_date_slug_names() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    names = []
    for revision in script.walk_revisions():
        assert revision.path is not None
        names.append(Path(revision.path).name)
        assert re.fullmatch(r"\d{4}_\d{2}_\d{2}_\d+_[a-z0-9_]+\.py", names[-1])
    # A directory listing reads as the history: the date, then the order within the day.
    history = list(reversed(names))
    assert sorted(history, key=_migration_order) == history
    migration_sources = (PROJECT_ROOT / "migrations" / "versions").glob("*.py")
    for path in migration_sources:
        imported = _imported_packages(path)
        assert not imported & set(LAYERS), f"{path.name} imports application code"


def test_readme_documents_every_setting() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    declared = {name.upper() for name in Settings.model_fields}
    assert documented == declared


def test_only_a_council_ballot_adopts_a_guideline_version() -> None:
    callers = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for package in LAYERS
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if "adopt_version(" in path.read_text()
        and path != PROJECT_ROOT / "guidelines" / "service.py"
    )
    assert callers == ["council/adoption.py"]


def test_building_the_app_leaves_the_shared_template_environment_alone(
    settings: Settings,
) -> None:
    before = dict(environment().globals)
    create_app(settings)
    assert dict(environment().globals) == before


# Modules of the web layer itself: they may speak FastAPI without being pages or an API.
HTTP_INFRASTRUCTURE = {
    "core/api.py",
    "core/auth.py",
    "core/db.py",
    "core/downloads.py",
    "core/fastpath.py",
    "core/headers.py",
    "core/health.py",
    "core/limits.py",
    "core/submissions.py",
    "core/web.py",
    "council/app.py",
}
ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "api_route"}
MAX_HANDLER_LINES = 25


def _modules() -> list[Path]:
    return [path for package in LAYERS for path in sorted((PROJECT_ROOT / package).rglob("*.py"))]


def _name(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def _is_http_module(path: Path) -> bool:
    return path.stem.endswith(("_pages", "_api"))


def _handlers(tree: ast.Module) -> list[ast.FunctionDef]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and d.func.attr in ROUTE_METHODS
            for d in node.decorator_list
        )
    ]


def _body_lines(handler: ast.FunctionDef) -> int:
    body = handler.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if not body:
        return 0
    return (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1


def _commits(handler: ast.FunctionDef) -> int:
    return sum(
        1
        for node in ast.walk(handler)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    )


def _queries(tree: ast.Module) -> list[int]:
    """Lines that build a query or load a row by id: `select(...)`, `session.get(...)`."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (isinstance(func, ast.Name) and func.id in {"select", "update", "delete", "insert"}) or (
            isinstance(func, ast.Attribute)
            and func.attr in {"get", "execute", "scalar", "scalars", "query"}
            and isinstance(func.value, ast.Name)
            and func.value.id in {"session", "db"}
        ):
            found.append(node.lineno)
    return found


def test_only_web_modules_speak_http() -> None:
    speaking = [
        _name(path)
        for path in _modules()
        if _imported_packages(path) & {"fastapi", "starlette"}
        and not _is_http_module(path)
        and _name(path) not in HTTP_INFRASTRUCTURE
    ]
    assert speaking == []


def test_route_modules_are_named_pages_or_api() -> None:
    routers = [
        _name(path)
        for path in _modules()
        if "APIRouter(" in path.read_text()
        and not _is_http_module(path)
        and _name(path) not in HTTP_INFRASTRUCTURE
    ]
    assert routers == []


def _thin_route_violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    problems = [f"line {line}: a query" for line in _queries(tree)]
    for handler in _handlers(tree):
        if (lines := _body_lines(handler)) > MAX_HANDLER_LINES:
            problems.append(f"{handler.name}: {lines} lines")
        if (commits := _commits(handler)) > 1:
            problems.append(f"{handler.name}: {commits} commits")
    return problems


def test_routes_hold_no_query_and_stay_short() -> None:
    found = {
        _name(path): problems
        for path in _modules()
        if _is_http_module(path) and (problems := _thin_route_violations(path))
    }
    assert found == {}


def test_the_thin_route_check_catches_what_it_forbids(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_HANDLER_LINES + 1))
    module = tmp_path / "sample_pages.py"
    module.write_text(
        "@pages.post('/x')\n"
        "def handler(session):\n"
        '    """A handler."""\n'
        "    session.get(Thing, 1)\n"
        "    rows = select(Thing)\n"
        "    session.commit()\n"
        "    session.commit()\n"
        f"{body}\n"
    )
    problems = _thin_route_violations(module)
    assert problems == [
        "line 4: a query",
        "line 5: a query",
        f"handler: {MAX_HANDLER_LINES + 5} lines",
        "handler: 2 commits",
    ]
