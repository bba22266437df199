"""docs/operations.md documents every setting, with its environment variable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from jiragate.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def settings_fields(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from settings_fields(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def test_every_setting_is_in_the_reference_table():
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for name in settings_fields(Settings):
        env = "JIRAGATE_" + name.upper().replace(".", "__")
        if f"| `{name}` | `{env}` |" not in text:
            missing.append(f"{name} ({env})")
    assert not missing, f"docs/operations.md lacks rows for: {', '.join(missing)}"
