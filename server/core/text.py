"""Free text people type (a note, a reason, a letter), checked the same way by every capability."""

from __future__ import annotations

from server.core.errors import Invalid


def trimmed_text(field: str, value: str | None, limit: int, *, required: bool = False) -> str:
    """`value` without surrounding blanks; `missing_field` when required and blank, `invalid_field` when
    longer than `limit` characters (both name the field)."""
    text = (value or "").strip()
    if required and not text:
        raise Invalid("missing_field", f"field '{field}' is required", field=field)
    if len(text) > limit:
        raise Invalid("invalid_field", f"'{field}' is longer than {limit} characters", field=field)
    return text
