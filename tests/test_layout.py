"""The tree's layers, as the README's layout section draws them: the edges (the terminal API, the
back office, the CLI, and what they share: the error answers, the owner's input) may use the
rules and the machinery; the rules use the machinery and never an edge; the machinery uses
neither, but for the exceptions named in ALLOWED."""

import ast
import re

from tests.helpers import ROOT

LAYERS = {
    "edge": ("app.api", "app.backoffice", "app.cli", "app.errors", "app.owner_input"),
    "rule": (
        *("app.sessions", "app.journal", "app.people", "app.stores", "app.reports"),
        "app.accounting",
        *("app.exceptions", "app.models"),
    ),
    "machinery": ("app.machinery",),
}
# Head office is a service of its own in the package, with the same layers inside it.
LAYERS["edge"] += ("app.headoffice.pages", "app.headoffice.cli")
LAYERS["rule"] += ("app.headoffice.follow", "app.headoffice.figures", "app.headoffice.models")
LAYERS["rule"] += ("app.headoffice.users",)
FORBIDDEN = {"edge": set(), "rule": {"edge"}, "machinery": {"edge", "rule"}}
ALLOWED = {
    # The database's own refusals (busy, missing, read-only, ...) are domain errors, so that
    # every edge answers them through the one table; app.exceptions imports nothing of the app.
    ("app.machinery.backup", "app.exceptions"),
    ("app.machinery.dbfile", "app.exceptions"),
    ("app.machinery.health", "app.exceptions"),
    # /healthz is a view, declared like every other so that the OpenAPI document shows it.
    ("app.machinery.health", "app.api.operation"),
}
MODULES = sorted(p for p in (ROOT / "app").rglob("*.py") if "migrations" not in p.parts)


def module_of(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_modules(source: str, package: str) -> set[str]:
    """The app modules a source imports, at any depth (inside a function too), relative
    imports resolved against its package; ``from m import name`` counts as m, or as m.name
    when that is a module."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [base])])
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(n for n in names if n.startswith("app.") and is_module(n))
    return found


def layer(module: str) -> str | None:
    for name, prefixes in LAYERS.items():
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return name
    return None


def test_every_module_has_a_layer_but_the_factories():
    # The two factories: the box's and head office's.
    assert [module_of(p) for p in MODULES if layer(module_of(p)) is None] == [
        "app",
        "app.headoffice",
    ]


def test_the_walk_sees_an_edge_imported_from_a_rule_however_written():
    package = "app.people"
    assert imported_modules("from ..api import auth", package) == {"app.api", "app.api.auth"}
    assert imported_modules("from ..api.auth import jwt", package) == {"app.api.auth"}
    assert imported_modules("def f():\n    import app.cli.output", package) == {"app.cli.output"}
    assert imported_modules("from .. import backoffice", package) == {"app.backoffice"}


def test_the_rules_import_no_edge_and_the_machinery_neither_rules_nor_edges():
    wrong = set()
    for path in MODULES:
        importer = module_of(path)
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for imported in imported_modules(path.read_text(), package):
            if layer(imported) in FORBIDDEN.get(layer(importer), ()):
                wrong.add((importer, imported))
    assert wrong == ALLOWED


def test_every_path_of_the_app_that_the_text_names_exists():
    """Docs, comments, docstrings and deploy files name the modules where they are now."""
    texts = [
        *ROOT.glob("*.md"),
        *ROOT.glob("*.py"),
        *(ROOT / name for name in ("Makefile", "setup.cfg")),
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("deploy/*"),
        *ROOT.glob(".ci/*"),
        *ROOT.glob("bench/*.py"),
        *ROOT.glob("tests/*.py"),
        *MODULES,
    ]
    named = re.compile(r"(?<![\w./])app/[\w./-]*\w")
    missing = [
        (path.relative_to(ROOT).as_posix(), name)
        for path in texts
        for name in named.findall(path.read_text())
        if not (ROOT / name).exists()
    ]
    assert missing == []


def test_the_readme_layout_names_every_module_where_it_is():
    """Each row of the README's layout is a folder or module that exists, and each module of the
    app is named in its folder's row."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How the code is laid out", 1)[1].split("```")[1]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("app/"):
            path, _, text = line.partition(" ")
            rows[path] = text
        elif line.startswith(" ") and rows:
            rows[path] += line
    assert [path for path in rows if not (ROOT / path).exists()] == []
    top = {p.name + "/" * p.is_dir() for p in (ROOT / "app").iterdir() if _source(p)}
    assert top - {path.removeprefix("app/") for path in rows} == {"static/", "templates/"}
    unnamed = [
        module.relative_to(ROOT).as_posix()
        for folder, text in rows.items()
        if folder.endswith("/") and folder != "app/migrations/"
        for module in (ROOT / folder).glob("*.py")
        if module.stem != "__init__" and not re.search(rf"\b{module.stem}\b", text)
    ]
    assert unnamed == []


def _source(path) -> bool:
    """A file, or a folder with more in it than bytecode: a package moved away leaves its
    ``__pycache__`` behind in an old checkout."""
    if path.name == "__pycache__":
        return False
    return not path.is_dir() or any(_source(child) for child in path.iterdir())
