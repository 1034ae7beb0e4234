"""Griffe extension: the reST in our docstrings, as the Markdown mkdocstrings renders.

The docstrings are written for readers of the code and for ``help()``: Sphinx roles
(``:class:`~braze_async.Rate```), ``::`` before a literal block, ``>>>`` examples. This turns

* a role naming something the API reference shows into a cross-reference (autorefs checks it
  resolves: ``mkdocs build --strict`` fails otherwise), and any other role into plain code;
* ``text::`` into ``text:`` (the indented block after it is already a Markdown code block);
* a ``>>>`` example into a ``pycon`` code block.

Public objects are documented under their public path (``braze_async.Rate``), so a name is
resolved in the scope of the docstring that uses it and mapped back to that path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import griffe

#: ``:class:`~braze_async.Rate``` and its kin.
_ROLE = re.compile(r":(?:class|meth|func|attr|data|exc|mod|obj|const):`(~?)([^`]+)`")
#: The packages whose ``__all__`` the API reference documents.
_PUBLIC = ("braze_async", "braze_async.simulator")


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)  # type: ignore[arg-type]


class RestToMarkdown(griffe.Extension):
    """Rewrites every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        public: dict[str, str] = {}
        for path in _PUBLIC:
            module = pkg if path == pkg.path else loader.modules_collection[path]
            for name in module.exports or ():
                target = module[str(name)]
                public[target.final_target.path if target.is_alias else target.path] = (
                    f"{path}.{name}"
                )
        for obj in _objects(pkg):
            if obj.docstring is not None:
                obj.docstring.value = self._markdown(obj, obj.docstring.value, public, loader)

    def _markdown(
        self, obj: griffe.Object, text: str, public: dict[str, str], loader: griffe.GriffeLoader
    ) -> str:
        def role(match: re.Match[str]) -> str:
            short, name = match.groups()
            label = name.rsplit(".", 1)[-1] if short else name
            target = self._public_path(obj, name, public, loader)
            return f"[`{label}`][{target}]" if target else f"`{label}`"

        text = _ROLE.sub(role, text)
        text = re.sub(r"(?m)^(\s*)::\s*$\n?", "", text)  # a lone "::" paragraph
        text = re.sub(r"(?m)(\S)::$", r"\1:", text)
        return _fence_examples(text)

    @staticmethod
    def _public_path(
        obj: griffe.Object, name: str, public: dict[str, str], loader: griffe.GriffeLoader
    ) -> str | None:
        try:
            path = name if name.startswith("braze_async") else obj.resolve(name)
        except griffe.NameResolutionError:
            scope = obj.parent if obj.is_function or obj.is_attribute else obj
            if scope is None or name not in scope.all_members:
                return None
            path = f"{scope.path}.{name}"  # a sibling member: a method of the same class
        try:
            target = loader.modules_collection[path]
            path = target.final_target.path if target.is_alias else target.path
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            return None
        if path in public:
            return public[path]
        owner, _, member = path.rpartition(".")
        return f"{public[owner]}.{member}" if owner in public else None


def _fence_examples(text: str) -> str:
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>> "):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["```pycon", *block, "```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)
