"""Templates compiled by JoinedOutputCodeGenerator (template_output.py) write the same
text as Jinja2's own code, in far fewer pieces, escaped the same way."""
import jinja2
import pytest
from markupsafe import Markup, escape

from furusato_cms.template_output import JoinedOutputCodeGenerator, escape_output


class Html:
    def __html__(self):
        return "<b>safe</b>"

    def __repr__(self):
        return "Html()"


class Text(str):
    pass

TEMPLATES = {
    "base": "<title>{% block title %}{{ t }}{% endblock %}</title>"
            "<p>{{ u }}</p>{% block body %}{% endblock %}<i>{{ t|upper }}</i>",
    "page": "{% extends 'base' %}{% block title %}{{ t }} | {{ super() }}{% endblock %}"
            "{% block body %}{% for x in xs %}<a href=\"{{ u }}{{ x }}\">{{ x }}</a>"
            "{% if loop.last %}.{% endif %}{% endfor %}{% set b %}<b>{{ t }}</b>{% endset %}"
            "{{ b }}{% include 'part' %}{% include 'part' without context %}{{ m.hi(t) }}"
            "{% endblock %}"
            "{% import 'macros' as m %}"
            "{% for v in values %}[{{ v }}]{% endfor %}{{ v|default('<d>') }}"
            "{% autoescape false %}{{ t }}{% endautoescape %}{{ t ~ u }}{{ t|safe }}",
    "part": "<span>{{ u }}</span>",
    "macros": "{% macro hi(name) %}<em>{{ name }}</em>{% endmacro %}",
}
ODD_VALUES = ["a'\"<>&", 3, -7, True, 2.5, None, Markup("<i>m</i>"), Html(), Text("<t>"),
              jinja2.Undefined(), b"<bytes>", ["<l>"]]
VALUES = {"t": "<R&D>", "u": "/s/?a=1&b=2", "xs": ["<x>", "y", 3], "values": ODD_VALUES}


def environments(autoescape):
    plain = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=autoescape)
    joined = plain.overlay()
    joined.code_generator_class = JoinedOutputCodeGenerator
    return plain, joined


@pytest.mark.parametrize("autoescape", [True, False])
def test_the_same_text_in_fewer_pieces(autoescape):
    plain, joined = environments(autoescape)
    theirs, ours = (env.get_template("page") for env in (plain, joined))
    assert ours.render(VALUES) == theirs.render(VALUES)
    assert "&lt;R&amp;D&gt;" in ours.render(VALUES) or not autoescape
    assert len(list(ours.generate(VALUES))) < len(list(theirs.generate(VALUES))) / 2


def test_a_page_hands_on_its_layouts_output_joined():
    """Extends, blocks and includes yield the other template's output as one string, so
    each piece is resumed once, not once per level above it: the page itself, which
    writes nothing outside its blocks, yields one piece."""
    plain, joined = environments(True)
    assert len(list(joined.get_template("page").generate(VALUES))) == 1
    assert len(list(plain.get_template("page").generate(VALUES))) > 10
    source = joined.compile(TEMPLATES["page"], raw=True)
    assert "yield from" not in source and "for event in gen:" not in source


def test_every_piece_is_text():
    _plain, joined = environments(True)
    pieces = list(joined.get_template("page").generate(VALUES))
    assert pieces and all(type(piece) in (str, jinja2.runtime.Markup) for piece in pieces)


def test_the_application_compiles_its_templates_this_way():
    from furusato_cms.templating import LocalizedEnvironments

    environments = LocalizedEnvironments(jinja2.Environment())
    assert environments.environment.code_generator_class is JoinedOutputCodeGenerator


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_escape_output_is_markupsafes_escape_as_text(value):
    assert escape_output(value) == str(escape(value))


def test_autoescaped_output_is_compiled_to_escape_output():
    _plain, joined = environments(True)
    source = joined.compile("<p>{{ t }}</p>{% autoescape false %}{{ t }}{% endautoescape %}",
                            raw=True)
    assert source.count("escape_output(") == 1
