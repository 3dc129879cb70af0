"""Jinja2 code generation that yields each run of template output as one string
(一まとまりの出力を一度に).

Jinja2 compiles ``<a href="{{ url }}">{{ title }}</a>`` into five ``yield`` statements,
and every yielded piece of a page travels up through each template it extends (a site
page sits four deep: page, site layout, theme layout, base), one generator resumption per
level. A site page yielded about 330 pieces. Here each output node of a page's own
(unbuffered) body becomes one ``yield concat((…))`` of the same pieces, escaped the same
way, which is what Jinja2 already writes when it collects output into a buffer (macros,
``{% set %}`` blocks). Only the number of pieces changes, never the text.

It is Jinja2's documented hook, ``Environment.code_generator_class``; the buffered form
it reuses is Jinja2's own ``visit_Output``.
"""
from jinja2.compiler import CodeGenerator

_JOINED = "_joined_output"
"""A name that stands for the buffer while Jinja2 writes one output node; never defined
in generated code, as both lines that would use it are rewritten below."""


class JoinedOutputCodeGenerator(CodeGenerator):
    _open = False
    """Between the rewritten first line of an output and its closing parenthesis."""

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
        ``buffer.append(a,)`` (a single piece) ``yield concat((a,))``."""
        if x in (f"{_JOINED}.extend((", f"{_JOINED}.append("):
            x, self._open = "yield concat((", True
        elif self._open and x in (")", "))"):
            x, self._open = "))", False
        super().writeline(x, node, extra)
