"""The cheaper Jinja2 runtime (template_runtime.py) renders what Jinja2's own does: calls
that ask for the context, the environment or the evaluation context still get them, and
a template's globals are the environment's and its own."""
from functools import partial
from operator import add

import jinja2
import pytest

from furusato_cms.template_runtime import CallContext, FlatGlobalsTemplate, use_cheaper_runtime


@jinja2.pass_context
def page_name(context, suffix):
    return context["name"] + suffix


@jinja2.pass_environment
def environment_word(environment):
    return environment.globals["word"]


@jinja2.pass_eval_context
def escaping(eval_ctx):
    return "on" if eval_ctx.autoescape else "off"


class Greeter:
    @jinja2.pass_context
    def __call__(self, context):
        return "hi " + context["name"]


def stops():
    raise StopIteration


TEMPLATES = {
    "base": "{% block body %}{% endblock %}|{{ word }}",
    "page": "{% extends 'base' %}{% import 'macros' as m %}{% block body %}"
            "{% for x in xs %}{{ page_name(x) }},{{ plain(x) }},{{ m.twice(x) }},"
            "{{ prefixed(x) }};{% endfor %}"
            "{{ environment_word() }} {{ escaping() }} {{ greet() }} {{ items.get('a') }}"
            " [{{ stops() }}] {{ extra }} {{ m.pair('<p>', 'q') }} {{ m.pair('r') }}"
            " {{ m.pair('s', b='t') }} {% call m.wrap() %}<in>{% endcall %}"
            " {{ m.rest(1, 2, k=3) }}{% endblock %}",
    "macros": "{% macro twice(v) %}{{ v }}{{ v }}{{ word }}{% endmacro %}"
              "{% macro pair(a, b='<d>') %}{{ a }}+{{ b }}{% endmacro %}"
              "{% macro wrap() %}[{{ caller() }}]{% endmacro %}"
              "{% macro rest(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}",
}
GLOBALS = {"page_name": page_name, "environment_word": environment_word,
           "escaping": escaping, "greet": Greeter(), "plain": str.upper, "stops": stops,
           "word": "w", "prefixed": partial(add, "p-")}
VALUES = {"name": "n", "xs": ["a", "b"], "items": {"a": "<A>"}}


def environments():
    plain = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)
    plain.globals.update(GLOBALS)
    cheaper = plain.overlay()
    use_cheaper_runtime(cheaper)
    return plain, cheaper


def test_the_same_text_as_jinja2s_runtime():
    plain, cheaper = environments()
    theirs = plain.get_template("page", globals={"extra": "x"}).render(VALUES)
    ours = cheaper.get_template("page", globals={"extra": "x"}).render(VALUES)
    assert ours == theirs
    assert ours.startswith("na,A,aaw,p-a;nb,B,bbw,p-b;w on hi n &lt;A&gt; [] x "
                           "&lt;p&gt;+q r+&lt;d&gt; s+t [<in>] 1(2,){&#39;k&#39;: 3}|w")


def test_a_macro_given_every_argument_by_position_runs_its_body_directly(monkeypatch):
    _plain, cheaper = environments()
    macros = cheaper.get_template("macros").module
    context = cheaper.get_template("page").new_context(VALUES)
    monkeypatch.setattr(jinja2.runtime.Macro, "__call__", None)
    assert context.call(macros.pair, "<a>", "b") == jinja2.runtime.Markup("&lt;a&gt;+b")


def test_cheaper_classes_are_used():
    _plain, cheaper = environments()
    template = cheaper.get_template("page")
    assert isinstance(template, FlatGlobalsTemplate) and type(template.globals) is dict
    assert isinstance(template.new_context(VALUES), CallContext)


@pytest.mark.parametrize("wrap", [lambda function: function, partial], ids=["function", "partial"])
def test_a_plain_function_is_called_without_the_context(wrap, monkeypatch):
    _plain, cheaper = environments()
    seen = []
    context = cheaper.get_template("page").new_context(VALUES)
    monkeypatch.setattr(jinja2.runtime.Context, "call", None)
    assert context.call(wrap(lambda *args, **kw: seen.append((args, kw)) or "ok"), 1,
                        _block_vars={"v": 1}, _loop_vars={}, key=2) == "ok"
    assert seen == [((1,), {"key": 2})]


@pytest.mark.parametrize("marked", [page_name, Greeter()])
def test_a_function_asking_for_the_context_gets_it(marked):
    _plain, cheaper = environments()
    context = cheaper.get_template("page").new_context(VALUES)
    args = ("!",) if marked is page_name else ()
    assert context.call(marked, *args).endswith("n" + "".join(args))


def test_the_application_renders_with_it():
    from furusato_cms.templating import LocalizedEnvironments

    environment = LocalizedEnvironments(jinja2.Environment()).environment
    assert environment.context_class is CallContext
    assert environment.template_class is FlatGlobalsTemplate
