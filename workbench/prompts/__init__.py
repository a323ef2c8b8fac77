"""Prompt templates of the generation pipeline: one Markdown file per LLM step.

The templates are the method, so they live as plain files a researcher can read and replace:
`workbench/prompts/NAME.md` ships with the package, and `PROJECT/prompts/NAME.md`, when it
exists, overrides it for that project. Each file is a Jinja template whose leading `{# ... #}`
comment documents the variables it receives (comments do not render).

Every row a stage writes records the `hash` of the template that produced it, so a changed
prompt is visible in the lineage and (because the rendered text changes) misses the LLM cache.

Rendering is strict: a variable the caller did not pass is an error, not an empty string, so
a typo in an override fails loudly instead of silently sending a broken prompt.

`check_sizes` refuses a variable holding a text longer than `[limits] max_row_chars`
(`PromptTooLong`), so one giant stored row is never sent whole in a paid call.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import jinja2.meta

from workbench.errors import WorkbenchError

TEMPLATE_NAMES: tuple[str, ...] = tuple(
    sorted(entry.name[: -len(".md")] for entry in resources.files(__name__).iterdir() if entry.name.endswith(".md"))
)
"""The built-in templates: every `NAME.md` shipped in this folder."""

PROMPTS_DIR = "prompts"
"""Folder inside a project whose `NAME.md` files override the built-in templates."""

# The filename Jinja gives templates made from a string; its frames in a traceback carry the
# template's line numbers, which is how a render error can say where it happened.
_JINJA_STRING_FILENAME = "<template>"

# Autoescape off: these are prompts for a language model, and HTML-escaping `<`, `&` or quotes
# in a user's message would change what the model reads.
_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
    keep_trailing_newline=False,
)


def with_article(noun: str) -> str:
    """ "an email", "a blog post": the indefinite article by the first letter (a template filter)."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


_ENV.filters["with_article"] = with_article


def template_hash(text: str) -> str:
    """Content hash of a template: the first 16 hex digits of sha256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@functools.lru_cache(maxsize=128)
def _compile(text: str) -> jinja2.Template:
    # Keyed by text alone: the same text compiles to the same template whatever its source.
    # Syntax errors are not cached (lru_cache does not store exceptions).
    return _ENV.from_string(text)


def _template_line(tb: TracebackType | None) -> int | None:
    """The template line of the innermost traceback frame that belongs to the template, if any."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _JINJA_STRING_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt template and where it came from.

    Attributes:
        name: The step it serves, one of `TEMPLATE_NAMES`.
        text: The template source (Markdown with Jinja tags).
        hash: First 16 hex digits of sha256 of `text`; recorded in the lineage of every row.
        source: The file it was read from, or "builtin:NAME" for a packaged template.
    """

    name: str
    text: str
    hash: str
    source: str

    @classmethod
    def from_text(cls, name: str, text: str, source: str) -> PromptTemplate:
        """Build a template from its text, computing the hash."""
        return cls(name=name, text=text, hash=template_hash(text), source=source)

    def _where(self, line: int | None = None) -> str:
        at = f"{self.source}, line {line}" if line else self.source
        return f"prompt template '{self.name}' ({at})"

    def compiled(self) -> jinja2.Template:
        """The compiled Jinja template.

        Raises:
            WorkbenchError: The text is not a valid Jinja template; the message names the
                template, its source and the line.
        """
        try:
            return _compile(self.text)
        except jinja2.TemplateSyntaxError as exc:
            raise WorkbenchError(
                f"{self._where(exc.lineno)}: template syntax error: {exc.message}",
                hint="Fix the Jinja syntax in that file (see https://jinja.palletsprojects.com/templates/).",
            ) from exc

    @property
    def variables(self) -> frozenset[str]:
        """Names of the variables the template reads (what `render` must be given)."""
        return frozenset(jinja2.meta.find_undeclared_variables(_ENV.parse(self.text)))

    def render(self, **variables: Any) -> str:
        """Fill in the template.

        Args:
            **variables: Values for the template's variables; extra ones are ignored.

        Returns:
            The rendered prompt with leading and trailing whitespace removed.

        Raises:
            WorkbenchError: A variable the template uses was not passed, the template has a
                syntax error, or it failed while rendering; the message names the template, its
                source, the line where known and what was wrong.
        """
        template = self.compiled()
        try:
            return template.render(**variables).strip()
        except jinja2.UndefinedError as exc:
            line = _template_line(exc.__traceback__)
            passed = ", ".join(sorted(variables)) or "none"
            raise WorkbenchError(
                f"{self._where(line)}: undefined variable: {exc.message}",
                hint=f"Variables passed: {passed}. An override may only use the variables its built-in "
                "template documents at its top.",
            ) from exc
        except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as exc:
            # Type and attribute errors come from template code (e.g. looping over a value that is
            # not a list); naming the line is what makes them fixable in an override.
            line = _template_line(exc.__traceback__)
            raise WorkbenchError(f"{self._where(line)}: rendering failed: {exc}") from exc


class PromptTooLong(WorkbenchError):
    """A prompt variable holds a text longer than `[limits] max_row_chars`; nothing was sent.

    Attributes:
        template: The template the variable was for.
        variable: Where the text is among the variables (`rows[3].text`).
        length: The text's length in characters.
        cap: The cap it is over.
    """

    def __init__(self, template: str, variable: str, length: int, cap: int) -> None:
        super().__init__(
            f"Prompt template '{template}': {variable} is {length:,} characters, over the {cap:,}-character cap; "
            "nothing was sent.",
            hint=f"Shorten that text, or raise the cap: `[limits] max_row_chars` in workbench.toml or "
            f"WORKBENCH_LIMITS__MAX_ROW_CHARS={length}.",
        )
        self.template, self.variable, self.length, self.cap = template, variable, length, cap


def _texts(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string inside a variable (lists and dicts included), with where it is."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _texts(item, f"{where}[{i}]")


def check_sizes(template: str, variables: Mapping[str, Any], max_chars: int) -> None:
    """Refuse variables holding a text longer than `max_chars` (the longest one is named).

    Raises:
        PromptTooLong: some text is over the cap.
    """
    over = [(len(text), where) for name, value in variables.items() for where, text in _texts(value, name)]
    length, where = max(over, default=(0, ""))
    if length > max_chars:
        raise PromptTooLong(template, where, length, max_chars)


def _unknown(name: str) -> WorkbenchError:
    return WorkbenchError(
        f"Unknown prompt template '{name}'.",
        hint=f"Known templates: {', '.join(TEMPLATE_NAMES)}.",
    )


@functools.cache
def _builtin(name: str) -> PromptTemplate:
    text = resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    template = PromptTemplate.from_text(name, text, f"builtin:{name}")
    template.compiled()  # a broken packaged template is a bug; surface it at load, not mid-run
    return template


def override_path(name: str, project_root: Path) -> Path:
    """Where a project's override of template `name` lives (whether or not it exists)."""
    return Path(project_root) / PROMPTS_DIR / f"{name}.md"


def load_template(name: str, project_root: Path | None = None) -> PromptTemplate:
    """The template for step `name`: the project's override if it has one, else the built-in.

    Overrides are read afresh on every call, since a researcher may edit them between runs.

    Args:
        name: One of `TEMPLATE_NAMES`.
        project_root: The project folder; its `prompts/NAME.md` overrides the built-in.

    Returns:
        The template, already checked to compile.

    Raises:
        WorkbenchError: Unknown name (the message lists the known ones), or an override that
            cannot be read or does not compile (the message names the file and line).
    """
    if name not in TEMPLATE_NAMES:
        raise _unknown(name)
    if project_root is not None:
        path = override_path(name, project_root)
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise WorkbenchError(f"{path}: prompt template is not valid UTF-8 ({exc.reason}).") from exc
            except OSError as exc:
                raise WorkbenchError(f"{path}: cannot read prompt template: {exc.strerror or exc}.") from exc
            template = PromptTemplate.from_text(name, text, str(path))
            template.compiled()
            return template
    return _builtin(name)
