"""Rich text: editors write Markdown; raw HTML is never passed through and links are
limited to safe schemes (markdown-it's validateLink), so what is shown cannot carry script."""
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable("table").enable("strikethrough")


def render_markdown(source: str) -> Markup:
    return Markup(_md.render(source or ""))
