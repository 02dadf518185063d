"""Message templates (pure: no frappe import): what a template asks the sender to fill in, checking the
values before anything is sent (Meta would answer 132000 / 132012), the text the customer will read,
and the `components` of the Graph send."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voice_agent.integrations.whatsapp.graph import (
    template_component,
    template_media_param,
    template_text_param,
)

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}
MAX_PARAMETER_CHARS = 1024


class TemplateParameterError(ValueError):
    """The values do not fit the template; the message says which, for the sender."""


@dataclass(frozen=True)
class Parameter:
    component: str  # "header" | "body"
    index: int
    kind: str  # "text" | "image" | "video" | "document"
    example: str | None


def component(components: Sequence[Mapping[str, Any]], type_: str) -> Mapping[str, Any] | None:
    return next((c for c in components if str(c.get("type", "")).upper() == type_), None)


def parameters(components: Sequence[Mapping[str, Any]]) -> list[Parameter]:
    found: list[Parameter] = []
    header = component(components, "HEADER")
    if header:
        fmt = str(header.get("format") or "TEXT").upper()
        if fmt in MEDIA_FORMATS:
            found.append(Parameter("header", 1, MEDIA_FORMATS[fmt], None))
        elif fmt == "TEXT":
            examples = ((header.get("example") or {}).get("header_text") or [])
            for index in _placeholders(header.get("text") or ""):
                found.append(Parameter("header", index, "text", _example(examples, index)))
    body = component(components, "BODY")
    if body:
        examples = ((body.get("example") or {}).get("body_text") or [[]])
        first = examples[0] if examples and isinstance(examples[0], list) else []
        for index in _placeholders(body.get("text") or ""):
            found.append(Parameter("body", index, "text", _example(first, index)))
    return found


def check_values(components: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values the template needs, cleaned: {"body": {"1": "Ann"}, "header": {"1": ...}}. A media
    header takes {"header": {"media": file url or uploaded media id}}."""
    cleaned: dict[str, dict[str, str]] = {"header": {}, "body": {}}
    for parameter in parameters(components):
        given = (values.get(parameter.component) or {}) if isinstance(values, Mapping) else {}
        key = "media" if parameter.kind != "text" else str(parameter.index)
        value = given.get(key) if isinstance(given, Mapping) else None
        if value is None or not str(value).strip():
            where = "header" if parameter.component == "header" else "text"
            what = "a file" if parameter.kind != "text" else f"{{{{{parameter.index}}}}}"
            raise TemplateParameterError(f"Fill in {what} of the template's {where}.")
        text = str(value).strip()
        if parameter.kind == "text":
            if len(text) > MAX_PARAMETER_CHARS:
                raise TemplateParameterError(f"{{{{{parameter.index}}}}} is longer than {MAX_PARAMETER_CHARS} characters.")
            # Meta refuses new lines, tabs and runs of more than four spaces in a parameter (132012).
            if "\n" in text or "\t" in text or "     " in text:
                raise TemplateParameterError(
                    f"{{{{{parameter.index}}}}} may not contain line breaks, tabs or more than four spaces in a row.")
        cleaned[parameter.component][key] = text
    return {k: v for k, v in cleaned.items() if v}


def render(components: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> tuple[str, list[int]]:
    """The text the customer will read, and the body placeholders still missing (for a live preview)."""
    missing: list[int] = []
    parts = []

    def fill(text: str, given: Mapping[str, Any], track: bool) -> str:
        def one(match: re.Match[str]) -> str:
            value = given.get(match.group(1)) if isinstance(given, Mapping) else None
            if value is None or not str(value).strip():
                if track:
                    missing.append(int(match.group(1)))
                return match.group(0)
            return str(value)
        return PLACEHOLDER.sub(one, text)

    header = component(components, "HEADER")
    if header and str(header.get("format") or "TEXT").upper() == "TEXT" and header.get("text"):
        parts.append(fill(header["text"], values.get("header") or {}, False))
    body = component(components, "BODY")
    if body:
        parts.append(fill(body.get("text") or "", values.get("body") or {}, True))
    footer = component(components, "FOOTER")
    if footer and footer.get("text"):
        parts.append(footer["text"])
    return "\n\n".join(p for p in parts if p), sorted(set(missing))


def send_components(components: Sequence[Mapping[str, Any]], values: Mapping[str, Any],
                    header_media_id: str | None = None) -> list[dict[str, Any]]:
    """The `components` of the Graph template send for checked values (a media header as an uploaded id)."""
    result = []
    header_params = [p for p in parameters(components) if p.component == "header"]
    if header_params:
        if header_params[0].kind != "text":
            if not header_media_id:
                raise TemplateParameterError("The template's header file has not been uploaded.")
            result.append(template_component("header", [template_media_param(header_params[0].kind, header_media_id)]))
        else:
            given = values.get("header") or {}
            result.append(template_component("header", [template_text_param(given[str(p.index)]) for p in header_params]))
    body_params = [p for p in parameters(components) if p.component == "body"]
    if body_params:
        given = values.get("body") or {}
        result.append(template_component("body", [template_text_param(given[str(p.index)]) for p in body_params]))
    return result


def summary(components: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Header, body, footer and buttons as the desk's template picker shows them."""
    header = component(components, "HEADER")
    footer = component(components, "FOOTER")
    buttons = component(components, "BUTTONS")
    return {
        "header": {"format": str(header.get("format") or "TEXT").upper(), "text": header.get("text")} if header else None,
        "body": (component(components, "BODY") or {}).get("text") or "",
        "footer": footer.get("text") if footer else None,
        "buttons": [str(b.get("text") or "") for b in (buttons or {}).get("buttons") or []],
    }


def _placeholders(text: str) -> list[int]:
    return sorted({int(m) for m in PLACEHOLDER.findall(text)})


def _example(examples: Sequence[Any], index: int) -> str | None:
    return str(examples[index - 1]) if 0 < index <= len(examples) else None
