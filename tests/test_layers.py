"""The layers import one way: analysis ← data_access ← pipelines ← app.

analysis/ is pure science; data_access/ owns the I/O, one package per capability, and never
runs a pipeline; pipelines/ combine the two and never import app/; app/ holds the pages,
views, plots and the CLI. Beside them, demo/ (the demo workspace builders) and sandbox/ (the
stand-in SDB/MDB server) are used only by the CLI's commands, by the server that starts the
demo's services, by bench/ and by the tests.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UI = {"panel", "holoviews", "bokeh"}
BESIDE = {"demo", "sandbox"}
FORBIDDEN = {
    "analysis": {
        "app",
        "pipelines",
        "data_access",
        *BESIDE,
        *UI,
        "duckdb",
        "requests",
        "psycopg",
        "pandas",
    },
    "data_access": {"app", "pipelines", *BESIDE, *UI},
    "pipelines": {"app", *BESIDE, *UI},
    "demo": {"app", "sandbox", *UI},
    "sandbox": {"app", "pipelines", "demo", *UI},
    "app": BESIDE,
}
#: The modules of app/ that may use demo/ and sandbox/: the CLI's commands, the server, which
#: starts the sandbox for a demo workspace, and the background work, which feeds the demo's
#: status files.
BESIDE_USERS = ("app/commands/", "app/server.py", "app/worker.py")
#: Imports that break the order today, each to be removed by the change that fixes it.
KNOWN_EXCEPTIONS: dict[str, set[str]] = {}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def forbidden_for(name: str, layer: str) -> set[str]:
    if layer == "app" and name.startswith(BESIDE_USERS):
        return set()
    return FORBIDDEN[layer]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_go_one_way(layer):
    offenders = {}
    for path in (REPO / layer).rglob("*.py"):
        name = path.relative_to(REPO).as_posix()
        wrong = imported_modules(path) & forbidden_for(name, layer)
        wrong -= KNOWN_EXCEPTIONS.get(name, set())
        if wrong:
            offenders[name] = sorted(wrong)
    assert not offenders


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(FORBIDDEN)


def test_known_exceptions_still_hold():
    """An exception that no longer holds is taken off the list, so that it cannot come back."""
    for name, modules in KNOWN_EXCEPTIONS.items():
        layer = name.split("/")[0]
        assert modules <= imported_modules(REPO / name) & forbidden_for(name, layer), name


# -- text from outside reaches a page only through app/markup.py ------------------------
#: The helpers of app/markup.py whose result is safe for a page.
MARKUP_BUILDERS = {
    "escape_html",
    "escape_markdown",
    "markdown",
    "html",
    "code",
    "join",
    "paragraphs",
    "bullets",
}
#: Of those, the ones whose first argument is the view's own text: it must be a literal.
TEMPLATED = {"markdown", "html"}
#: Return annotations of a function the check accepts when every one of its returns is safe.
SAFE_TYPES = {"SafeMarkdown", "SafeHTML"}
#: Panes whose object the browser renders as HTML (Markdown, Alert: through markdown-it
#: with raw HTML on; HTML; Str: its text inside <pre>, unescaped by Panel).
TEXT_PANES = {"Markdown", "HTML", "Alert", "Str"}
#: Layouts that turn a string among their children into a Markdown pane.
LAYOUTS = {
    "Column",
    "Row",
    "FlexBox",
    "GridBox",
    "WidgetBox",
    "Card",
    "Accordion",
    "Tabs",
    "Feed",
    "Swipe",
}
#: Widgets whose option labels the browser renders as HTML (Choices.js, allowHTML on).
HTML_LABEL_WIDGETS = {"MultiChoice"}
#: The one module allowed to make a Tabulator (it escapes the column titles).
TABLES_MODULE = "app/views/tables.py"


def _name(node: ast.AST) -> str:
    """The called name of ``f(...)``, ``obj.f(...)``: 'f'."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def _under(node: ast.AST, attribute: str) -> bool:
    """Whether ``node`` is ``<anything>.<attribute>.<name>`` (``pn.pane.Markdown``)."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == attribute
    )


def _returns_safe(node: ast.AST) -> bool:
    """Whether ``node`` is a function annotated ``-> SafeMarkdown`` or ``-> SafeHTML``."""
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    returns = node.returns
    return (returns.value if isinstance(returns, ast.Constant) else _name(returns)) in SAFE_TYPES


def _bound_names(node: ast.AST) -> set[str]:
    """The names a loop, ``with``, comprehension, ``except`` or import binds."""
    if isinstance(node, ast.ExceptHandler):
        return {node.name} if node.name else set()
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    targets = (
        [node.target]
        if isinstance(node, ast.For | ast.comprehension)
        else [item.optional_vars for item in node.items if item.optional_vars]
    )
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


class MarkupCheck:
    """Where a module of app/ lets text that app/markup.py did not build reach HTML.

    An expression is safe when it is a string literal, a call of a helper of app/markup.py
    (``markdown``/``html`` with a literal template), a call of a function of the module
    annotated ``-> SafeMarkdown`` or ``-> SafeHTML`` whose every return is safe, an
    f-string or ``+`` whose parts are all safe, a conditional whose branches are, or a
    name whose every assignment (in its function, else in the module) is.
    """

    def __init__(self, source: str, where: str) -> None:
        self.where = where
        self.tree = ast.parse(source, filename=where)
        self.problems: list[str] = []
        self.scopes: dict[ast.AST, ast.AST] = {}
        self._map_scopes(self.tree, self.tree)
        self.safe_functions = {node.name for node in ast.walk(self.tree) if _returns_safe(node)}
        self.helpers = {
            alias.asname or alias.name: alias.name
            for node in ast.walk(self.tree)
            if isinstance(node, ast.ImportFrom) and node.module == "app.markup"
            for alias in node.names
        }
        if "*" in self.helpers:
            self.helpers = {name: name for name in MARKUP_BUILDERS}

    def _map_scopes(self, node: ast.AST, scope: ast.AST) -> None:
        """Each node's innermost function (or the module)."""
        for child in ast.iter_child_nodes(node):
            self.scopes[child] = scope
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            self._map_scopes(child, child if inner else scope)

    def refuse(self, node: ast.AST, what: str) -> None:
        self.problems.append(f"{self.where}:{node.lineno}: {what}")

    # -- what is safe -----------------------------------------------------------------
    def safe(self, node: ast.AST | None, seen: frozenset = frozenset()) -> bool:
        if node is None:
            return True
        if isinstance(node, ast.Constant):
            return node.value is None or isinstance(node.value, str)
        if isinstance(node, ast.JoinedStr):
            return all(
                self.safe(part.value, seen)
                for part in node.values
                if isinstance(part, ast.FormattedValue)
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.safe(node.left, seen) and self.safe(node.right, seen)
        if isinstance(node, ast.IfExp):
            return self.safe(node.body, seen) and self.safe(node.orelse, seen)
        if isinstance(node, ast.BoolOp):
            return all(self.safe(value, seen) for value in node.values)
        if isinstance(node, ast.Call):
            return self._safe_call(node)
        if isinstance(node, ast.Name):
            return self._safe_name(node.id, self.scopes.get(node, self.tree), seen)
        return False

    def _helper(self, func: ast.AST) -> str:
        """The app/markup.py helper ``func`` names (imported from it), or ''."""
        name = self.helpers.get(func.id, "") if isinstance(func, ast.Name) else ""
        return name if name in MARKUP_BUILDERS else ""

    def _safe_call(self, node: ast.Call) -> bool:
        helper = self._helper(node.func)
        if helper in TEMPLATED:
            template = node.args[0] if node.args else None
            return isinstance(template, ast.Constant) and isinstance(template.value, str)
        return bool(helper) or _name(node.func) in self.safe_functions

    def _bindings(self, name: str, scope: ast.AST) -> list[ast.AST | None] | None:
        """The values bound to ``name`` in ``scope`` (None for a binding of unknown value:
        a parameter, a loop, ``with``, ``except`` or ``import`` target); None when unbound."""
        values: list[ast.AST | None] = []
        for node in ast.walk(scope):
            if node is scope or self.scopes.get(node) is not scope:
                continue
            if isinstance(node, ast.Assign):
                targets = [t for t in node.targets if isinstance(t, ast.Name) and t.id == name]
                values += [node.value] * len(targets)
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and _name(node.target) == name:
                values.append(node.value)
            elif isinstance(node, ast.AugAssign) and _name(node.target) == name:
                values.append(None)
            elif isinstance(node, ast.arg) and node.arg == name:
                values.append(None)
            elif isinstance(
                node,
                ast.For
                | ast.With
                | ast.comprehension
                | ast.ExceptHandler
                | ast.Import
                | ast.ImportFrom,
            ) and name in _bound_names(node):
                values.append(None)
        return values or None

    def _safe_name(self, name: str, scope: ast.AST, seen: frozenset) -> bool:
        if (id(scope), name) in seen:
            return True  # a cycle adds nothing unsafe
        values = self._bindings(name, scope)
        if values is None and scope is not self.tree:
            scope, values = self.tree, self._bindings(name, self.tree)  # a global
        inner = seen | {(id(scope), name)}
        return values is not None and all(v is not None and self.safe(v, inner) for v in values)

    # -- where text meets HTML --------------------------------------------------------
    def check(self) -> list[str]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                self._check_call(node)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr == "object":
                        if not self.safe(node.value):
                            self.refuse(
                                node, "a pane's .object set to text app/markup.py did not build"
                            )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if "{safe}" in node.value:
                    self.refuse(
                        node, "a Bokeh tooltip field marked {safe} renders its data as HTML"
                    )
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self._check_safe_function(node)
        return self.problems

    def _check_safe_function(self, function) -> None:
        if function.name not in self.safe_functions:
            return
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and not self.safe(node.value):
                self.refuse(
                    node,
                    f"{function.name}() is annotated safe but returns text "
                    "app/markup.py did not build",
                )

    def _check_call(self, node: ast.Call) -> None:
        func, called = node.func, _name(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        if _under(func, "pane") and called in TEXT_PANES:
            shown = node.args[0] if node.args else keywords.get("object")
            if not self.safe(shown):
                self.refuse(
                    node,
                    f"pn.pane.{called} gets text app/markup.py did not build: "
                    "use markdown(), html(), escape_markdown() or escape_html()",
                )
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and (func.value.id == "pn" and called in LAYOUTS)
        ):
            self._check_layout(node, called, keywords)
        if called in ("SafeMarkdown", "SafeHTML") and self.where != "app/markup.py":
            self.refuse(node, f"{called}(...) made by hand: only app/markup.py makes safe text")
        self._check_notification(node)
        self._check_widget(node, called, keywords)

    def _check_layout(self, node: ast.Call, called: str, keywords: dict) -> None:
        children = [a.elts[-1] if isinstance(a, ast.Tuple) and a.elts else a for a in node.args]
        for child in children:
            stringy = isinstance(child, ast.JoinedStr | ast.BinOp | ast.Constant) or (
                isinstance(child, ast.Call) and _name(child.func) in ("format", "join")
            )
            if stringy and not self.safe(child):
                self.refuse(
                    child, f"pn.{called} makes a Markdown pane of text app/markup.py did not build"
                )
        if "title" in keywords and not self.safe(keywords["title"]):
            self.refuse(node, f"pn.{called}'s title is HTML: build it with app/markup.py")

    def _check_notification(self, node: ast.Call) -> None:
        func = node.func
        toast = (isinstance(func, ast.Attribute) and _under(func, "notifications")) or (
            isinstance(func, ast.Call)
            and _name(func.func) == "getattr"
            and func.args
            and isinstance(func.args[0], ast.Attribute)
            and func.args[0].attr == "notifications"
        )
        if toast and node.args and not self.safe(node.args[0]):
            self.refuse(
                node,
                "a notification renders its message as HTML: escape it (app.views.feedback.notify)",
            )

    def _check_widget(self, node: ast.Call, called: str, keywords: dict) -> None:
        widget = called
        if called == "from_param" and isinstance(node.func, ast.Attribute):
            widget = _name(node.func.value)
        if widget in HTML_LABEL_WIDGETS:
            options = keywords.get("options")
            if not (isinstance(options, ast.Call) and _name(options.func) == "option_labels"):
                self.refuse(
                    node,
                    f"{widget} renders its option labels as HTML: give options=option_labels(...)",
                )
        if widget == "StaticText" and not self.safe(keywords.get("value")):
            self.refuse(node, "StaticText renders its value as HTML: build it with app/markup.py")
        if widget == "Tabulator" and self.where != TABLES_MODULE:
            self.refuse(node, f"a Tabulator made here: use {TABLES_MODULE} (escaped titles)")
        for key in ("formatters", "title_formatters"):
            if key in keywords and any(
                isinstance(n, ast.Constant) and n.value == "html" for n in ast.walk(keywords[key])
            ):
                self.refuse(node, f"an 'html' {key[:-1]} renders cells or titles as HTML")


def markup_problems(path: Path) -> list[str]:
    where = str(path.relative_to(REPO))
    return MarkupCheck(path.read_text(), where).check()


def test_text_from_outside_reaches_pages_only_through_the_markup_helper():
    modules = sorted(p for p in (REPO / "app").rglob("*.py") if p != REPO / "app/markup.py")
    problems = [problem for path in modules for problem in markup_problems(path)]
    assert not problems, "\n".join(problems)


#: Leaks the check must find, each with what its message says.
LEAKS = {
    'pn.pane.Markdown(f"### {burst}")': "pn.pane.Markdown gets text",
    "pn.pane.HTML(object=name)": "pn.pane.HTML gets text",
    "pn.pane.Alert(self.param.message)": "pn.pane.Alert gets text",
    "pn.pane.Str(header)": "pn.pane.Str gets text",
    'pn.pane.Markdown("### {}".format(burst))': "pn.pane.Markdown gets text",
    'pn.pane.Markdown("\\n\\n".join(lines))': "pn.pane.Markdown gets text",
    "pn.pane.Markdown(markdown(template, x=1))": "pn.pane.Markdown gets text",
    "pn.pane.Markdown(self.summary())": "pn.pane.Markdown gets text",
    "def f(text):\n    return pn.pane.Markdown(text)": "pn.pane.Markdown gets text",
    "for name in names:\n    pn.pane.HTML(name)": "pn.pane.HTML gets text",
    "text = markdown('a')\ntext += burst\npn.pane.Alert(text)": "pn.pane.Alert gets text",
    'pane.object = f"#### {name}"': "pane's .object set",
    'pn.Column(f"#### Products of {burst}", table)': "pn.Column makes a Markdown pane",
    'pn.Tabs(("t", "x" + name))': "pn.Tabs makes a Markdown pane",
    "pn.Card(body, title=name)": "pn.Card's title is HTML",
    "pn.state.notifications.error(str(exc))": "a notification renders",
    "getattr(pn.state.notifications, kind)(text)": "a notification renders",
    "pn.widgets.MultiChoice(options=names)": "MultiChoice renders its option labels",
    "pn.widgets.MultiChoice.from_param(self.param.sensors)": "MultiChoice renders",
    "pn.widgets.StaticText(value=name)": "StaticText renders its value",
    "pn.widgets.Tabulator(frame)": "a Tabulator made here",
    "table(frame, formatters={'name': {'type': 'html'}})": "an 'html' formatter",
    'TOOLTIPS = [("name", "@name{safe}")]': "marked {safe}",
    "SafeMarkdown(burst)": "made by hand",
    "def f(x) -> SafeHTML:\n    return f'<b>{x}</b>'": "annotated safe but returns",
}
#: What the check lets through.
SAFE = [
    'pn.pane.Markdown("*Pick a burst.*")',
    'pn.pane.Markdown(markdown("### {b}", b=burst), width=3)',
    "text = markdown('{a}', a=x) if x else markdown('none')\npn.pane.Alert(text)",
    'pn.pane.HTML(html("<b>{x}</b>", x=name))',
    "pn.pane.Markdown(paragraphs(*lines))",
    'pane.object = escape_markdown(name) if name else "#### none"',
    'pn.Column("### Sky map", self._sky_map, pn.pane.Markdown(code(ivorn)))',
    "notify('error', text)\npn.state.notifications.error(escape_html(text))",
    "pn.widgets.MultiChoice.from_param(self.param.s, options=option_labels(names))",
    "def badge(s) -> SafeHTML:\n    return html('<i>{s}</i>', s=s)\npn.pane.HTML(badge(x))",
    "INTRO = 'a'\ndef f():\n    return pn.pane.Markdown(INTRO)",
    "pn.pane.Markdown(f\"{markdown('**{x}**', x=name)} and more\")",
]


IMPORTS = "from app.markup import *\nfrom app.views.feedback import notify\n"


@pytest.mark.parametrize(("source", "said"), LEAKS.items())
def test_the_markup_check_finds_a_leak_and_names_its_line(source, said):
    [problem] = MarkupCheck(IMPORTS + source, "app/views/example.py").check()
    line = IMPORTS.count("\n") + len(source.splitlines())  # the snippet's last line
    assert problem.startswith(f"app/views/example.py:{line}: ") and said in problem


@pytest.mark.parametrize("source", SAFE)
def test_the_markup_check_lets_text_built_by_the_helper_through(source):
    assert MarkupCheck(IMPORTS + source, "app/views/example.py").check() == []


def test_only_the_helpers_of_app_markup_count():
    source = "from text_tools import markdown\npn.pane.Markdown(markdown('{x}', x=name))"
    assert MarkupCheck(source, "app/views/example.py").check()
