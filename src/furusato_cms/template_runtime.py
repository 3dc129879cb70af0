"""Jinja2's per-render bookkeeping made cheaper (テンプレート実行時の手間を減らす).

Profiling a signed-in /my/ (issue 16) put about a tenth of its CPU into Jinja2's runtime
rather than into the page: every call written in a template goes through
``Context.call``, which asks each callable twice whether it wants the context (each a
``hasattr`` that raises and swallows an AttributeError), and every context made for a
page, an include or an import copied the template's globals, a ``ChainMap`` that Python
walks key by key (``set(globals)``, ``dict(globals, **vars)``, ``keys - globals.keys()``).

Both are Jinja2's documented hooks, ``Environment.context_class`` and
``Environment.template_class``; what a template computes is unchanged:

- ``CallContext`` calls plain functions, methods, partials and macros directly unless
  they are marked ``pass_context``/``pass_eval_context``/``pass_environment``; anything
  else (a callable object, a marked function) goes through Jinja2's own ``Context.call``.
- A macro called with all its arguments by position (and no ``caller``, ``varargs`` or
  ``kwargs``) runs its body directly, as ``Macro.__call__`` would after sorting the
  arguments it was given.
- ``FlatGlobalsTemplate`` keeps a template's globals as a plain dict copied when the
  template is loaded. The application sets its globals when an environment is made
  (templating.LocalizedEnvironments), before any template of it is loaded, so a copy sees
  the same values a ChainMap would.
"""
from functools import partial
from types import BuiltinFunctionType, FunctionType, MethodType

from jinja2.environment import Template
from jinja2.runtime import Context, Macro
from markupsafe import Markup

_PLAIN = (FunctionType, MethodType, BuiltinFunctionType, Macro, partial)
"""Callables whose ``__call__`` never asks for the context: only their own
``jinja_pass_arg`` can (a ``partial`` has none of its own, so Jinja2 never passes it one
either: the language's ``translate`` and ``_``)."""


def _plain_macro_call(macro, args, kwargs) -> bool:
    """Whether ``macro(*args, **kwargs)`` only passes its arguments on: all of them by
    position, no ``caller``, ``varargs`` or ``kwargs`` to fill in."""
    return (not kwargs and len(args) == macro._argument_count and not macro.caller
            and not macro.catch_kwargs and not macro.catch_varargs)


class CallContext(Context):
    def call(__self, __obj, *args, **kwargs):  # noqa: N805 (Jinja2's signature)
        kind = type(__obj)
        if kind not in _PLAIN or getattr(__obj, "jinja_pass_arg", None) is not None:
            return Context.call(__self, __obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        if kind is Macro and _plain_macro_call(__obj, args, kwargs):
            # What Macro.__call__ and _invoke do for such a call, without their
            # argument bookkeeping (a tenth of a call's cost, 11 calls on /my/).
            output = __obj._func(*args)
            return Markup(output) if __obj._default_autoescape else output
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


class FlatGlobalsTemplate(Template):
    @classmethod
    def _from_namespace(cls, environment, namespace, globals):
        return super()._from_namespace(environment, namespace, dict(globals))


def use_cheaper_runtime(environment):
    environment.context_class = CallContext
    environment.template_class = FlatGlobalsTemplate
