"""Jinja2 code generation that yields each run of template output as one string
(一まとまりの出力を一度に).

Jinja2 compiles ``<a href="{{ url }}">{{ title }}</a>`` into five ``yield`` statements,
and every yielded piece of a page travels up through each template it extends (a site
page sits four deep: page, site layout, theme layout, base), one generator resumption per
level. A site page yielded about 330 pieces. Here each output node of a page's own
(unbuffered) body becomes one ``yield concat((…))`` of the same pieces, escaped the same
way, which is what Jinja2 already writes when it collects output into a buffer (macros,
``{% set %}`` blocks). Only the number of pieces changes, never the text.

A piece a template yields was also resumed once per level: a site page's base layout
wrote its pieces through the theme layout, the site layout and the page (``yield from``),
and a block's and an include's through each of those too, about 440 generator
resumptions a page. Here each such hand-over yields the other's output joined into one
string, so a piece is resumed once, by the join of the level it is written at; copying
the finished text once per level costs less than that.

Each autoescaped ``{{ value }}`` is also compiled to ``escape_output(value)`` instead of
``escape(value)``. markupsafe's ``escape`` is a Python function that wraps each escaped
string in a new ``Markup`` — a third of the site page's rendering, about 180 times per
page — and output is joined into the page at once, so the wrapper bought nothing there.
``escape_output`` gives the same text as a plain ``str``, escaped by markupsafe's own C
code; a value with ``__html__`` gives that, as before. Filters, ``Markup`` arithmetic and
a volatile autoescape block keep Jinja2's code.

It is Jinja2's documented hook, ``Environment.code_generator_class``; the buffered form
it reuses is Jinja2's own ``visit_Output``.
"""
from jinja2.compiler import CodeGenerator

try:
    from markupsafe._speedups import _escape_inner
except ImportError:  # markupsafe without its C extension
    from markupsafe import escape as _escape_inner

_JOINED = "_joined_output"
"""A name that stands for the buffer while Jinja2 writes one output node; never defined
in generated code, as both lines that would use it are rewritten below."""


def escape_output(value) -> str:
    """``str(markupsafe.escape(value))``, without the ``Markup`` around it."""
    if type(value) is str:
        return _escape_inner(value)
    if type(value) is int:
        return str(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        return html()
    return _escape_inner(str(value))


_DELEGATE = "yield from "
"""How Jinja2 hands on a parent template's output (``{% extends %}``), a block's and an
included template's without context, each piece through every level above it."""
_INCLUDED = "for event in gen:"
"""How it hands on an included template's output with context, one piece at a time."""


class JoinedOutputCodeGenerator(CodeGenerator):
    _open = False
    """Between the rewritten first line of an output and its closing parenthesis."""

    def visit_Template(self, node, frame=None):
        self.writeline(f"from {__name__} import escape_output")
        super().visit_Template(node, frame)

    def _output_child_pre(self, node, frame, finalize):
        if not frame.eval_ctx.autoescape or frame.eval_ctx.volatile:
            return super()._output_child_pre(node, frame, finalize)
        self.write("escape_output(")
        if finalize.src is not None:
            self.write(finalize.src)

    def visit_Output(self, node, frame):
        if frame.buffer is not None:
            return super().visit_Output(node, frame)
        frame.buffer = _JOINED
        try:
            return super().visit_Output(node, frame)
        finally:
            frame.buffer = None
            self._open = False

    def writeline(self, x, node=None, extra=0):
        """``buffer.extend((a, b,))`` becomes ``yield concat((a, b,))`` and
        ``buffer.append(a,)`` (a single piece) ``yield concat((a,))``; a delegation
        to another template's or block's output yields that output joined."""
        if x in (f"{_JOINED}.extend((", f"{_JOINED}.append("):
            x, self._open = "yield concat((", True
        elif self._open and x in (")", "))"):
            x, self._open = "))", False
        elif x.startswith(_DELEGATE):
            x = f"yield concat({x[len(_DELEGATE):]})"
        elif x == _INCLUDED:
            x = "for event in (concat(gen),):"
        super().writeline(x, node, extra)
