"""Plain text ↔ Atlassian Document Format (ADF), the rich-text JSON of the v3 API.

Jira Cloud's v3 API takes descriptions and comment bodies as ADF documents, Data Center's v2
API as plain text. Agents and reviewers write plain text; this module is the one place that
converts it. Structure per Atlassian's ADF reference
(https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/): a `doc` node
(`version: 1`) holding block nodes; `paragraph` holds inline `text` and `hardBreak` nodes; a
`text` node must not be empty.
"""

from __future__ import annotations

import re
from typing import Any

_BLANK_LINES = re.compile(r"\n[ \t]*\n+")


def text_to_adf(text: str) -> dict[str, Any]:
    """A doc with a paragraph per blank-line-separated block; a lone newline is a hard break."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    content: list[dict[str, Any]] = []
    for block in _BLANK_LINES.split(normalised):
        if not block.strip():
            continue
        inline: list[dict[str, Any]] = []
        for number, line in enumerate(block.split("\n")):
            if number:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(node: object) -> str:
    """Flatten an ADF document (or any node) back to plain text, for previews and reads.

    Unknown node types contribute their children's text, so newer ADF nodes degrade to text
    rather than vanish. A plain string (a v2 body) is returned unchanged.
    """
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    children = [adf_to_text(child) for child in node.get("content") or ()]
    if kind == "doc":
        return "\n\n".join(child for child in children if child)
    joiner = "\n" if kind in ("bulletList", "orderedList", "listItem") else ""
    return joiner.join(children)
