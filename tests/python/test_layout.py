"""The app's layout rules (docs/architecture.md), read from the source: pure packages never import
frappe, endpoint modules never import each other and nothing below them imports them, the import
graph has no cycle, and every dotted path in hooks.py points at something that exists."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "voice_agent"

# Packages and modules that must run without Frappe (CI tests them with pytest).
PURE = [
    "voice_agent.agent",
    "voice_agent.calling",
    "voice_agent.web",
    "voice_agent.messaging",
    "voice_agent.bot",
    "voice_agent.contracts",
    "voice_agent.integrations.ultravox.client",
    "voice_agent.integrations.ultravox.signature",
    "voice_agent.integrations.ultravox.events",
    "voice_agent.integrations.ultravox.tools",
    "voice_agent.integrations.sidecar.client",
    "voice_agent.integrations.whatsapp.graph",
    "voice_agent.integrations.whatsapp.call_rules",
    "voice_agent.integrations.whatsapp.errors",
    "voice_agent.integrations.whatsapp.signature",
    "voice_agent.integrations.whatsapp.payloads",
    "voice_agent.integrations.whatsapp.templates",
    "voice_agent.integrations.llm",
]
# The Frappe glue inside a pure package: not pure itself, and no pure module may import it.
GLUE = ["voice_agent.integrations.llm.connect"]


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in APP.rglob("*.py")
        if "tests" not in path.relative_to(APP).parts and "patches" not in path.relative_to(APP).parts
    }


MODULES = app_modules()


def imported_modules(path: Path) -> Iterator[str]:
    """Every module an import statement of `path` loads (a `from a import b` loads a.b when b is one)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield candidate if candidate in MODULES else node.module


def is_in(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def is_pure(module: str) -> bool:
    return any(is_in(module, p) for p in PURE) and module not in GLUE


@pytest.mark.parametrize("pure", PURE)
def test_pure_code_never_imports_frappe(pure):
    modules = [name for name in MODULES if is_in(name, pure) and is_pure(name)]
    assert modules, f"{pure} does not exist"
    for name in modules:
        frappe_imports = [m for m in imported_modules(MODULES[name]) if is_in(m, "frappe")]
        assert not frappe_imports, f"{name} imports {frappe_imports}"
        impure = [m for m in imported_modules(MODULES[name])
                  if m.startswith("voice_agent") and m in MODULES and not is_pure(m)]
        assert not impure, f"pure {name} imports {impure}, which may import frappe"


def test_endpoints_import_no_endpoint_and_nothing_imports_them():
    for name, path in MODULES.items():
        api_imports = [m for m in imported_modules(path) if is_in(m, "voice_agent.api") and m in MODULES]
        if is_in(name, "voice_agent.api"):
            assert not [m for m in api_imports if m != "voice_agent.api"], f"endpoint module {name} imports {api_imports}"
        else:
            assert not api_imports, f"{name} imports the endpoint modules {api_imports}"


def test_the_import_graph_has_no_cycle():
    graph = {name: {m for m in imported_modules(path) if m in MODULES and m != name} for name, path in MODULES.items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name):] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        visiting.append(name)
        for dependency in sorted(graph[name]):
            visit(dependency)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def hook_paths(value: object) -> Iterator[str]:
    if isinstance(value, str) and value.startswith("voice_agent."):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from hook_paths(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from hook_paths(item)


def hooks() -> dict[str, object]:
    tree = ast.parse((APP / "hooks.py").read_text())
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = _evaluate(node.value, values)
    return values


def test_every_callable_doctype_has_the_call_button():
    values = hooks()
    for doctype in values["voice_agent_callable_doctypes"]:
        assert "public/js/call_button.js" in values["doctype_js"].get(doctype, []), doctype


def _evaluate(node: ast.expr, names: dict[str, object]) -> object:
    """A literal, where names already assigned in hooks.py may stand for their values."""
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_evaluate(k, names): _evaluate(v, names) for k, v in zip(node.keys, node.values, strict=True)}
    return ast.literal_eval(node)


def test_install_app_needs_no_lookup():
    assert "required_apps" not in hooks(), "install-app looks a bare required app up on GitHub"


def test_every_dotted_path_in_the_hooks_exists():
    paths = list(hook_paths(hooks()))
    assert paths
    for dotted in paths:
        module, _, attribute = dotted.rpartition(".")
        assert module in MODULES, f"hooks.py: no module {module} for {dotted}"
        tree = ast.parse(MODULES[module].read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        assert attribute in defined, f"hooks.py: {module} defines no {attribute}"
