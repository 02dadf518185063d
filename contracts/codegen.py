"""TypeScript declarations generated from the contract schemas, so the sidecar and the browser bundles
compile against exactly what the other side validates. One `<name>.d.ts` per `<name>.schema.json`.

    python3 contracts/codegen.py          # rewrite the .d.ts files
    python3 contracts/codegen.py --check  # exit 1 if a .d.ts file differs from its schema (CI)

Covers the JSON Schema the contracts use: $ref (local, and to another contract file: imported), enum,
const, type (and type lists), object properties / required / additionalProperties, arrays, oneOf /
anyOf (unions), allOf (intersections). Every $def becomes an exported type of the same name; a schema
without $defs is exported under the name SCHEMA_ROOT_NAMES gives it. Signaling's `requests` / `pushes`
maps and the call events' types become the maps the socket.io and reporting code is typed by.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCHEMAS = ("sidecar-http", "signaling", "call-events", "call-token", "frappe-api", "whatsapp-api")
SCHEMA_ROOT_NAMES = {"call-token": "CallTokenClaims"}
INDENT = "  "


def load(name: str) -> dict[str, Any]:
    return json.loads((HERE / f"{name}.schema.json").read_text())


class Translator:
    def __init__(self, schema_name: str):
        self.schema_name = schema_name
        self.imports: dict[str, set[str]] = {}

    def ref(self, ref: str) -> str:
        target, _, pointer = ref.partition("#")
        name = pointer.rsplit("/", 1)[-1]
        if target:
            module = target.removesuffix(".schema.json")
            if module != self.schema_name:
                self.imports.setdefault(module, set()).add(name)
        return name

    def type(self, schema: Any, depth: int = 0) -> str:
        if schema is True or schema == {}:
            return "unknown"
        if not isinstance(schema, dict):
            raise ValueError(f"cannot translate {schema!r}")
        if "$ref" in schema:
            return self.ref(schema["$ref"])
        if "const" in schema:
            return json.dumps(schema["const"])
        if "enum" in schema:
            return " | ".join(json.dumps(v) for v in schema["enum"])
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return " | ".join(_group(self.type(s, depth)) for s in schema[key])
        if "allOf" in schema:
            parts = [self.type(s, depth) for s in schema["allOf"]]
            own = {k: v for k, v in schema.items() if k in ("properties", "required")}
            if own.get("properties"):
                parts.append(self.object({**own, "type": "object"}, depth))
            return " & ".join(_group(p) for p in parts)
        kinds = schema.get("type")
        if isinstance(kinds, list):
            return " | ".join(self.type({**schema, "type": k}, depth) for k in kinds)
        simple = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean", "null": "null"}
        if kinds in simple:
            return simple[kinds]
        if kinds == "array":
            items = schema.get("items")
            return f"{_group(self.type(items, depth))}[]" if items is not None else "unknown[]"
        if kinds == "object" or "properties" in schema:
            return self.object(schema, depth)
        raise ValueError(f"cannot translate {schema!r}")

    def object(self, schema: dict[str, Any], depth: int) -> str:
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if not properties:
            if extra is False:
                return "Record<string, never>"
            if isinstance(extra, dict):
                return f"Record<string, {self.type(extra, depth)}>"
            return "object"
        required = set(schema.get("required", []))
        pad = INDENT * (depth + 1)
        lines = []
        for name, prop in properties.items():
            key = name if name.isidentifier() else json.dumps(name)
            doc = prop.get("description") if isinstance(prop, dict) else None
            if doc:
                lines.append(f"{pad}/** {doc} */")
            lines.append(f"{pad}{key}{'' if name in required else '?'}: {self.type(prop, depth + 1)};")
        if isinstance(extra, dict):
            lines.append(f"{pad}[key: string]: {self.type(extra, depth + 1)};")
        return "{\n" + "\n".join(lines) + "\n" + INDENT * depth + "}"


def _group(text: str) -> str:
    return f"({text})" if (" | " in text or " & " in text) and not text.startswith("{") else text


def _doc(text: str | None) -> str:
    return f"/** {text} */\n" if text else ""


def body(name: str, schema: dict[str, Any], t: Translator) -> str:
    out = []
    defs = schema.get("$defs", {})
    for def_name, definition in defs.items():
        if name == "signaling" and def_name == "Ack":
            t.ref("#/$defs/AckError")
            out.append(_doc(definition.get("description"))
                       + "export type Ack<T = unknown> = { ok: true; data: T } | { ok: false; error: AckError };\n")
        elif name == "call-events" and def_name != "EventBase":
            continue  # the event types are the CallEventPayloads map below
        else:
            out.append(_doc(definition.get("description")) + f"export type {def_name} = {t.type(definition)};\n")
    if not defs:
        out.append(_doc(schema.get("description")) + f"export type {SCHEMA_ROOT_NAMES[name]} = {t.type(schema)};\n")
    if name == "signaling":
        rows = [f'{INDENT}"{event}": [{t.ref(spec["request"])}, {t.ref(spec["response"])}];'
                for event, spec in schema["requests"].items()]
        out.append("/** Client -> sidecar requests: [payload, data of a successful ack]. */\n"
                   "export interface SignalingRequests {\n" + "\n".join(rows) + "\n}\n")
        rows = [f'{INDENT}"{event}": {t.ref(ref)};' for event, ref in schema["pushes"].items()]
        out.append("/** Sidecar -> client pushes: their payload. */\n"
                   "export interface SignalingPushes {\n" + "\n".join(rows) + "\n}\n")
    if name == "call-events":
        rows = []
        for branch in defs["CallEvent"]["oneOf"]:
            event = defs[t.ref(branch["$ref"])]["properties"]
            rows.append(f'{INDENT}"{event["type"]["const"]}": {t.type(event["payload"], 1)};')
        out.append("/** Each event type and its payload. */\n"
                   "export interface CallEventPayloads {\n" + "\n".join(rows) + "\n}\n")
        out.append("export type CallEventType = keyof CallEventPayloads;\n")
        out.append("/** One reported event (with EventBase's envelope). */\n"
                   "export type CallEvent = { [T in CallEventType]: EventBase & { type: T; payload: "
                   "CallEventPayloads[T] } }[CallEventType];\n")
    return "\n".join(out)


def render(name: str) -> str:
    schema = load(name)
    t = Translator(name)
    text = body(name, schema, t)
    header = (f"// Generated by contracts/codegen.py from {name}.schema.json: do not edit by hand.\n"
              "// Change the schema, then run `python3 contracts/codegen.py`.\n\n")
    imports = "".join(f'import type {{ {", ".join(sorted(names))} }} from "./{module}.js";\n'
                      for module, names in sorted(t.imports.items()))
    reexport = 'export type * from "./sidecar-http.js";\n' if name == "signaling" else ""
    return header + imports + reexport + ("\n" if imports or reexport else "") + text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in SCHEMAS:
        path = HERE / f"{name}.d.ts"
        text = render(name)
        if check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date with their schemas: {', '.join(stale)} (run python3 contracts/codegen.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
