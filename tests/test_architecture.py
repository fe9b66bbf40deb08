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
        context = MigrationContext.configure(connection, opts={"compare_type": True})
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
    assert callers == ["council/ballots.py"]


def test_building_the_app_leaves_the_shared_template_environment_alone(
    settings: Settings,
) -> None:
    before = dict(environment().globals)
    create_app(settings)
    assert dict(environment().globals) == before
