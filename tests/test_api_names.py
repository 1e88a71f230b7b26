"""Every Resolve method name LipAlign calls exists in the published stubs, and no call bypasses the list.

``fusionscript-stubs`` (pinned in installer/requirements-dev.lock) is built from Blackmagic's scripting
README; a misspelt or invented method name fails here rather than on a customer's Resolve.
"""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pytest
from kit import fake_resolve

from plugin import resolve_api

REPO = Path(__file__).resolve().parent.parent
FAKE_CLASSES = {"Resolve": fake_resolve.FakeResolve, "ProjectManager": fake_resolve.FakeProjectManager,
                "Project": fake_resolve.FakeProject, "MediaPool": fake_resolve.FakeMediaPool,
                "Folder": fake_resolve.FakeFolder, "MediaPoolItem": fake_resolve.FakeMediaPoolItem,
                "Timeline": fake_resolve.FakeTimeline, "TimelineItem": fake_resolve.FakeTimelineItem}


def stub_methods() -> dict[str, set[str]]:
    """Class name -> method names, read from the installed fusionscript-stubs package's .pyi."""
    dist = importlib.metadata.distribution("fusionscript-stubs")
    pyi = next(f for f in dist.files if f.name == "fusionscript.pyi")
    tree = ast.parse(Path(dist.locate_file(pyi)).read_text(encoding="utf-8"))
    return {node.name: {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
            for node in tree.body if isinstance(node, ast.ClassDef)}


# Plus what the Scripting API Changelog added after the pinned stubs (plugin.resolve_api.NEWER_THAN_STUBS).
STUBS = {name: methods | set(resolve_api.NEWER_THAN_STUBS.get(name, ()))
         for name, methods in stub_methods().items()}


def test_stubs_are_the_pinned_version():
    pin = next(line for line in (REPO / "installer" / "requirements-dev.lock").read_text().splitlines()
               if line.startswith("fusionscript-stubs=="))
    assert importlib.metadata.version("fusionscript-stubs") == pin.split("==")[1].split()[0]
    assert {"Resolve", "Timeline", "TimelineItem", "MediaPool"} <= STUBS.keys()


@pytest.mark.parametrize("class_name", sorted(resolve_api.METHODS))
def test_every_listed_method_is_in_the_published_stubs(class_name):
    missing = set(resolve_api.METHODS[class_name]) - STUBS[class_name]
    assert not missing, f"{class_name} has no {sorted(missing)} in fusionscript-stubs"


@pytest.mark.parametrize("class_name", sorted(FAKE_CLASSES))
def test_the_fake_invents_no_api(class_name):
    fake_api = {n for n in dir(FAKE_CLASSES[class_name]) if n[:1].isupper()}
    assert fake_api <= STUBS[class_name], sorted(fake_api - STUBS[class_name])


def test_the_fake_implements_every_listed_method():
    for class_name, names in resolve_api.METHODS.items():
        assert set(names) <= set(dir(FAKE_CLASSES[class_name])), class_name


def resolve_calls(path: Path) -> set[str]:
    """Names of CamelCase methods called on objects in ``path`` (Resolve's naming; Python's is snake_case),
    and the names feature detection asks ``dir()`` for (``has_method(obj, "Name")``): a misspelt name there
    would not fail, it would silently switch a feature off on every Resolve.

    Calls on imported modules (``av.AudioResampler(...)``) are not Resolve calls and are left out.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
               for a in n.names}
    modules |= {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    calls = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr[:1].isupper():
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in modules:
                continue
            calls.add(node.func.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "has_method":
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                calls.add(name.value)
    return calls


PLUGIN_FILES = sorted((REPO / "plugin").rglob("*.py"))


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: p.name)
def test_plugin_code_calls_only_listed_resolve_methods(path):
    unlisted = resolve_calls(path) - resolve_api.ALL_METHODS
    # The menu script's fallbacks reach Resolve before the list can be imported (Fusion's app and bmd objects).
    if path.parent.name == "menu":
        unlisted -= {"GetResolve"}
    assert not unlisted, f"{path.name} calls {sorted(unlisted)}: add them to plugin/resolve_api.METHODS"


def test_the_scan_sees_resolve_calls(tmp_path):
    # The guard itself must notice a call: the reading code reads item starts.
    assert "GetStart" in resolve_calls(REPO / "plugin" / "reading.py")
    assert "GetVersion" in resolve_calls(REPO / "plugin" / "resolve_api.py")
    probe = tmp_path / "probe.py"
    probe.write_text('if has_method(item, "GetLinkedItem"):\n    pass\n')
    assert resolve_calls(probe) == {"GetLinkedItem"}  # a misspelt feature check is caught too


def test_the_list_holds_only_names_the_plugin_calls():
    # The list is the bridge's whitelist: a name nobody calls only widens what the worker may do to Resolve.
    used = set().union(*(resolve_calls(p) for p in PLUGIN_FILES))
    assert used >= resolve_api.ALL_METHODS, sorted(resolve_api.ALL_METHODS - used)
