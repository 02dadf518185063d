/// <reference types="node" />
// The app's own pure Python, for the fake Frappe of the WhatsApp desk tests: the webhook signature
// check and payload parser, the Graph API client (sends, uploads, media downloads, templates, read
// receipts) with its error table and sentences, the template rules and the phone-number rules.
// Whatever the fake stores and sends is what voice_agent would, so the fake cannot drift from the
// app either. One long-lived `python -c` child (the repo's .venv), JSON lines in and out.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

const PROGRAM = String.raw`
import base64, dataclasses, datetime, enum, json, sys, traceback
from voice_agent.integrations.whatsapp import graph as g, payloads as p, signature, templates as t
from voice_agent.integrations.whatsapp.errors import describe
from voice_agent.messaging import phones, statuses

config = {}

def plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"__type__": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = plain(getattr(value, f.name))
        return out
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    return value

def client():
    return g.GraphClient(config["token"], base_url=config["base_url"], api_version=config.get("api_version", "v23.0"),
                         media_hosts=config["media_hosts"], timeout=10)

def graph_error(exc):
    return {"graph_error": {"code": exc.code, "subcode": getattr(exc, "subcode", None), "title": exc.title,
            "kind": exc.kind.value, "retryable": exc.retryable, "maybe_delivered": exc.maybe_delivered,
            "user_message": exc.user_message, "details": exc.details, "message": exc.message}}

def build(spec):
    kind = spec["kind"]
    if kind == "text":
        return g.text_message(spec["text"], preview_url="http" in spec["text"])
    if kind in g.MEDIA_KINDS:
        return g.media_message(kind, spec["media_id"], caption=spec.get("caption"), filename=spec.get("filename"))
    if kind == "template":
        comps = t.send_components(spec["components"], spec["values"], spec.get("header_media_id"))
        return g.template_message(spec["name"], spec["language"], comps)
    if kind == "buttons":
        return g.reply_buttons_message(spec["text"], [(o["id"], o["title"]) for o in spec["options"]])
    if kind == "list":
        rows = [{k: v for k, v in o.items() if k in ("id", "title", "description")} for o in spec["options"]]
        return g.list_message(spec["text"], spec["list_button"], [{"title": spec["list_button"], "rows": rows}])
    raise ValueError("cannot send a %s message" % kind)

def op_configure(a):
    config.update(a)
    return True

def op_verify(a):
    try:
        signature.verify(base64.b64decode(a["body"]), a.get("header"), a["secrets"])
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "reason": str(exc)}

def op_parse(a):
    batch = p.parse_webhook(base64.b64decode(a["body"]))
    out = []
    for change in batch.changes:
        parsed = change.parse()
        out.append({"waba_id": change.waba_id, "field": change.field, "change": plain(parsed) if parsed is not None else None})
    return {"dedupe_key": batch.dedupe_key, "changes": out}

def op_send(a):
    try:
        with client() as c:
            header_media = None
            spec = dict(a["message"])
            if spec.get("upload"):
                up = spec.pop("upload")
                spec["media_id" if spec["kind"] != "template" else "header_media_id"] = c.upload_media(
                    config["phone_number_id"], base64.b64decode(up["data"]), up["mime_type"], up["filename"])
                header_media = spec.get("header_media_id") or spec.get("media_id")
            result = c.send_message(config["phone_number_id"], a["to"], build(spec), reply_to=a.get("reply_to"),
                                    biz_opaque_callback_data=a.get("callback"))
            return {"wamid": result.wamid, "media_id": header_media}
    except g.GraphError as exc:
        return graph_error(exc)
    except (ValueError, t.TemplateParameterError) as exc:
        return {"invalid": str(exc)}

def op_mark_read(a):
    try:
        with client() as c:
            return {"ok": c.mark_read(config["phone_number_id"], a["wamid"], typing_indicator=a.get("typing", False))}
    except g.GraphError as exc:
        return graph_error(exc)

def op_download(a):
    try:
        with client() as c:
            info = c.media_info(a["media_id"], phone_number_id=config["phone_number_id"])
            if info.file_size and info.file_size > a["limit"]:
                return {"too_large": info.file_size}
            data = c.download_media(info.url, a["limit"])
            return {"data": base64.b64encode(data).decode(), "mime_type": info.mime_type, "size": len(data)}
    except g.MediaRejected as exc:
        return {"rejected": exc.message}
    except g.GraphError as exc:
        return graph_error(exc)

def op_templates(a):
    with client() as c:
        rows = c.list_templates(a["waba_id"])
    return [{"row": row, "summary": t.summary(row.get("components") or []),
             "parameters": [plain(x) for x in t.parameters(row.get("components") or [])]} for row in rows]

def op_render(a):
    text, missing = t.render(a["components"], a["values"])
    return {"text": text, "missing": missing}

def op_check_values(a):
    try:
        return {"values": t.check_values(a["components"], a["values"])}
    except t.TemplateParameterError as exc:
        return {"invalid": str(exc)}

def op_check_interactive(a):
    try:
        build(a)
        return {"ok": True}
    except ValueError as exc:
        return {"invalid": str(exc)}

def op_describe(a):
    info = describe(a.get("code"), title=a.get("title"))
    return {"message": info.message, "title": info.title, "retryable": info.retryable}

def op_media_kind(a):
    kind = g.media_kind(a["mime_type"])
    return {"kind": kind, "limit": g.MEDIA_LIMITS[kind][1] if kind else None}

def op_phone(a):
    try:
        if a["fn"] == "to_e164":
            return phones.to_e164(a["value"], a.get("region"))
        if a["fn"] == "to_wa_id":
            return phones.to_wa_id(a["value"])
        if a["fn"] == "from_wa_id":
            return phones.from_wa_id(a["value"])
    except phones.InvalidPhoneNumber:
        return None
    raise ValueError(a["fn"])

def op_apply_status(a):
    return statuses.apply_status(a.get("current"), a["incoming"])

OPS = {k[3:]: v for k, v in globals().items() if k.startswith("op_")}
for line in sys.stdin:
    req = json.loads(line)
    try:
        reply = {"id": req["id"], "result": OPS[req["op"]](req.get("args") or {})}
    except Exception as exc:
        reply = {"id": req["id"], "error": "%s: %s" % (type(exc).__name__, exc), "trace": traceback.format_exc()}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
`;

export interface GraphErrorInfo {
  code: number | null;
  subcode: number | null;
  title: string;
  kind: string;
  retryable: boolean;
  maybe_delivered: boolean;
  user_message: string;
  details: string | null;
  message: string;
}

export interface AppPython {
  call<T>(op: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

export async function startAppPython(root: string): Promise<AppPython> {
  const python = process.env.VA_PYTHON ?? join(root, ".venv/bin/python");
  const child: ChildProcess = spawn(python, ["-c", PROGRAM], { cwd: root, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, PYTHONPATH: root } });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  let exited = false;
  child.once("exit", (code) => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error(`app python exited (${code}): ${stderr}`));
    pending.clear();
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const reply = JSON.parse(line) as { id: number; result?: unknown; error?: string; trace?: string };
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.error) p.reject(new Error(`${reply.error}\n${reply.trace ?? ""}`));
    else p.resolve(reply.result);
  });
  const bridge: AppPython = {
    call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
      if (exited) return Promise.reject(new Error(`app python is not running: ${stderr}`));
      const id = ++seq;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
      });
    },
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once("exit", r));
      child.stdin!.end();
      await done;
    },
  };
  // Fails fast (with Python's error) when the venv or the app's modules are missing.
  await bridge.call("describe", { code: 131026 });
  return bridge;
}
