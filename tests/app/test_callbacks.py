"""Every callback of a page says its failure in words: a button's click, a watcher, a tap, a
periodic refresh and a method run when a parameter changes all go through the one wrapper,
:func:`app.views.feedback.guarded`, and a failing one shows a sentence of
:func:`~app.views.feedback.failure_sentence`, never the exception's text."""

from __future__ import annotations

import ast
import inspect
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import panel as pn
import pytest

from app.views import feedback
from data_access.stores import Stores

ROOT = Path(__file__).resolve().parents[2]
#: The modules whose callbacks a page runs.
MODULES = sorted([*(ROOT / "app" / "views").glob("*.py"), *(ROOT / "app" / "pages").glob("*.py")])
#: The text of the exception every failing store method raises (never to be shown).
SECRET = "/srv/secret/calibration_report"
#: A failure sentence: what failed, then why in words.
SENTENCE = re.compile(r"^[A-Z][^:]* failed: .+\.$")


# -- every callback goes through the wrapper (read from the source) ----------------------------
def _is_guarded(node: ast.expr, guarded_functions: set[str]) -> bool:
    """Whether a callback expression is ``guarded(...)(f)``, a function decorated by it, or
    a lambda that only calls one."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Call):
        return _name(node.func.func) == "guarded"
    if isinstance(node, ast.Lambda):
        return isinstance(node.body, ast.Call) and _name(node.body.func) in guarded_functions
    return _name(node) in guarded_functions


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _decorated_by(function, name: str, **keywords) -> bool:
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _name(decorator.func) == name:
            given = {k.arg: getattr(k.value, "value", None) for k in decorator.keywords}
            if all(given.get(k) == v for k, v in keywords.items()):
                return True
    return False


def _callbacks(tree: ast.Module) -> list[tuple[int, ast.expr | None, str]]:
    """(line, the callback expression or None for a decorated method, its wiring)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _decorated_by(
            node, "depends", watch=True
        ):
            found.append((node.lineno, None, f"@param.depends(watch=True) {node.name}"))
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        if called == "on_click" or (
            called == "watch"
            and isinstance(node.func, ast.Attribute)
            and _name(node.func.value) == "param"
        ):
            found.append((node.lineno, node.args[0], called))
        elif called in ("add_periodic_callback", "onload"):
            found.append((node.lineno, node.args[0], called))
        elif called == "on_tap":
            found.append((node.lineno, node.args[2], called))
    return found


def _guarded_names(tree: ast.Module) -> set[str]:
    """The functions decorated by ``guarded`` and the names bound to ``guarded(...)(f)``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if _decorated_by(node, "guarded"):
                names.add(node.name)
        elif isinstance(node, ast.Assign) and _is_guarded(node.value, set()):
            names.update(_name(target) for target in node.targets)
    return names


#: Every wrapped function of the pages (a view may wire a method of the view it belongs to).
GUARDED = set().union(*(_guarded_names(ast.parse(p.read_text("utf-8"))) for p in MODULES))


def _unguarded(path: Path, guarded_functions: set[str] = GUARDED) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded_functions = guarded_functions | _guarded_names(tree)
    methods = {
        node.lineno: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    problems = []
    for line, callback, wiring in _callbacks(tree):
        ok = (
            _decorated_by(methods[line], "guarded")
            if callback is None
            else _is_guarded(callback, guarded_functions)
        )
        if not ok:
            problems.append(f"{path.relative_to(ROOT)}:{line}: {wiring}")
    return problems


def test_every_callback_of_every_page_goes_through_the_failure_wrapper():
    found = [c for path in MODULES for c in _callbacks(ast.parse(path.read_text("utf-8")))]
    assert len(found) > 30  # the reading finds the callbacks at all
    problems = [p for path in MODULES for p in _unguarded(path)]
    assert problems == [], "wrap these in app.views.feedback.guarded:\n" + "\n".join(problems)


def test_the_source_reading_finds_an_unguarded_callback(tmp_path):
    module = tmp_path / "view.py"
    module.write_text(
        "import param\n"
        "from app.views.feedback import guarded\n"
        "class V(param.Parameterized):\n"
        "    @param.depends('a', watch=True)\n"
        "    def _changed(self): ...\n"
        "    @param.depends('a', watch=True)\n"
        "    @guarded('Changing a', LOG)\n"
        "    def _fine(self): ...\n"
        "    def ui(self, button, other):\n"
        "        button.on_click(lambda _: self.go())\n"
        "        other.on_click(guarded('Going', LOG)(lambda _: self.go()))\n"
        "        other.param.watch(self._fine, 'value')\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert _unguarded(module, set()) == [
            "view.py:5: @param.depends(watch=True) _changed",
            "view.py:10: on_click",
        ]
    finally:
        ROOT = saved


# -- and each one, failing, says a sentence (run on the demo workspace) ------------------------
def _raising(*args, **kwargs):
    raise KeyError(SECRET)


def _break_stores(monkeypatch, stores) -> None:
    """Every public method of every store raises an unexpected error."""
    for store in (
        stores.status,
        stores.alerts,
        stores.calibration,
        stores.products,
        stores.reprocess,
    ):
        for name, _ in inspect.getmembers(type(store), inspect.isfunction):
            if not name.startswith("_"):
                monkeypatch.setattr(store, name, _raising)


def _watchers(item) -> list:
    return [
        watcher.fn
        for watchers in item.param.watchers.values()
        for kind in watchers.values()
        for watcher in kind
        if hasattr(watcher.fn, "failure_doing")
    ]


def _guarded_callbacks(view) -> list:
    """The wrapped callbacks reachable from a view: its widgets' watchers, its own, and its
    methods that are wrapped (those of the views it holds too)."""
    shown = pn.panel(view)
    found = [fn for widget in shown.select(pn.widgets.Widget) for fn in _watchers(widget)]
    seen, stack = set(), [view]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        found += _watchers(item)
        found += [
            getattr(item, name)
            for name, member in inspect.getmembers(type(item))
            if hasattr(member, "failure_doing")
        ]
        held = [*vars(item).values(), *item.param.values().values()]
        stack += [v for v in held if isinstance(v, pn.viewable.Viewer)]
    return found


def _views(stores) -> dict:
    from app.auth import LOCAL_USER
    from app.views.alerts import AlertsBrowser
    from app.views.calibration import CalibrationTrends
    from app.views.dossier import BurstDossier
    from app.views.products import ProductsDesk
    from app.views.reprocess import ReprocessDesk
    from app.views.telemetry import TelemetryExplorer

    burst = stores.alerts.bursts()["burst_id"].iloc[0]
    calibration = CalibrationTrends(stores.calibration, caltype="bias")
    calibration.report_id = int(calibration.table().iloc[0]["report_id"])
    products = ProductsDesk(stores.products, client_factory=lambda: None, user=LOCAL_USER)
    queue = stores.products.bursts()
    products.selection.burst_id = str(queue["burst_id"].iloc[0])
    products.selection.product_id = int(products.queue.queue()["product_id"].iloc[0])
    return {
        "calibration": calibration,
        "alerts": AlertsBrowser(stores.alerts, burst=burst),
        "reprocess": ReprocessDesk.from_stores(stores, client_factory=lambda: None),
        "telemetry": TelemetryExplorer(stores.status),
        "products": products,
        "burst": BurstDossier(stores, burst=burst),
    }


@pytest.fixture
def demo_stores(demo_root):
    stores = Stores.open(demo_root, read_only=True)
    yield stores
    stores.close()


@pytest.fixture
def said(monkeypatch):
    """The sentences the wrapper made (and the toasts shown)."""
    sentences = []
    making = feedback.failure_sentence

    def spy(exc, **kwargs):
        sentences.append(making(exc, **kwargs))
        return sentences[-1]

    monkeypatch.setattr(feedback, "failure_sentence", spy)
    return sentences


def test_each_callback_failing_says_a_sentence_not_the_exception(demo_stores, monkeypatch, said):
    views = _views(demo_stores)
    callbacks = {name: _guarded_callbacks(view) for name, view in views.items()}
    _break_stores(monkeypatch, demo_stores)
    event = SimpleNamespace(new=[0], old=None, obj=None, name="value")
    logging.getLogger("gic").disabled = True  # the tracebacks are logged: not needed here
    try:
        for name, found in callbacks.items():
            assert found, name
            before = len(said)
            for callback in found:
                arguments = inspect.signature(callback).parameters
                callback(*[event] * len(arguments))  # nothing escapes
            assert len(said) > before, f"no callback of the {name} page failed"
    finally:
        logging.getLogger("gic").disabled = False
    for sentence in said:
        assert SENTENCE.match(sentence), sentence
        assert SECRET not in sentence and "KeyError" not in sentence


def test_a_failure_no_callback_caught_is_said_in_words_too(served_workbench, monkeypatch, said):
    toasts = []
    monkeypatch.setattr(feedback, "notify", lambda kind, text: toasts.append((kind, text)))
    assert pn.config.exception_handler is feedback.unexpected_failure  # set by the server
    logging.getLogger("gic").disabled = True
    try:
        pn.config.exception_handler(KeyError(SECRET))
    finally:
        logging.getLogger("gic").disabled = False
    [(kind, text)] = toasts
    assert kind == "error" and text == said[0] and SENTENCE.match(text)
    assert text.startswith("Updating the page failed: an unexpected error") and SECRET not in text
