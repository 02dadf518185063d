/// <reference types="node" />
// Serves what Frappe would for the /voice-agent page: the real www/voice-agent/index.html
// (rendered by support/page-template, which refuses Jinja it does not know so the template cannot drift),
// the built bundles, and the voice_processor endpoints with their contract shapes and error modes.
// create_session asks the python fake Ultravox for a real call, so join_url is its join socket.
import { build } from "esbuild";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { BRAND_LOGO_SVG, BRAND_LOGO_URL, escapeHtml, renderPage } from "./support/page-template";

export { escapeHtml };

export const ROOT = process.env.VA_ROOT ?? fileURLToPath(new URL("../..", import.meta.url));
const DIST = join(ROOT, "voice_agent/public/dist");
const TEMPLATE = "voice_agent/www/voice-agent/index.html";
const METHOD = "/api/method/voice_agent.api.voice_processor.";

export type HarnessProfile = { name: string; title: string; use_case: string; description: string; greeting: string };

export const PROFILES: readonly HarnessProfile[] = [
  { name: "VAP-0001", title: "Book an appointment", use_case: "appointment", description: "Find a free slot and book a visit.", greeting: "Hello!" },
  { name: "VAP-0002", title: "Order food", use_case: "restaurant_order", description: "Order from our menu for pickup or delivery.", greeting: "Hi!" },
  { name: "VAP-0003", title: "Get support", use_case: "support", description: "Tell us what went wrong and we open a ticket.", greeting: "Hey!" },
];

/** What create_session answers; the error modes carry Frappe's error body. */
export type SessionMode = "ok" | "429" | "403" | "503" | "502" | "417";

const ERRORS: Record<Exclude<SessionMode, "ok">, { exc_type: string; message: string }> = {
  "429": { exc_type: "TooManyRequestsError", message: "You hit the rate limit because of too many requests. Please try after sometime." },
  "403": { exc_type: "PermissionError", message: "This origin may not start voice sessions" },
  "503": { exc_type: "ServiceUnavailableError", message: "All our assistants are busy right now. Please try again in a minute." },
  "502": { exc_type: "UltravoxError", message: "Ultravox answered 500" },
  "417": { exc_type: "ValidationError", message: "Voice Agent Profile VAP-9 is not available" },
};

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface FakeUltravox {
  url: string;
  setJoinMode(wsMode: "ok" | "dead_room" | "ended" | "reject", closeAfterSec?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `python -m tests.fakes.ultravox` from the repo's .venv (scripts/lib.sh va_ensure_python makes it). */
export async function startFakeUltravox(): Promise<FakeUltravox> {
  const [port, wsPort] = [await freePort(), await freePort()];
  const python = process.env.VA_PYTHON ?? join(ROOT, ".venv/bin/python");
  const child: ChildProcess = spawn(python, ["-m", "tests.fakes.ultravox", "--port", String(port), "--ws-port", String(wsPort)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fake Ultravox did not start: ${stderr}`)), 15_000);
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("fake Ultravox on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`fake Ultravox exited with ${code}: ${stderr}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async setJoinMode(wsMode, closeAfterSec = 1) {
      const res = await fetch(`${url}/_fake/mode`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ws_mode: wsMode, ws_close_after: closeAfterSec }),
      });
      if (!res.ok) throw new Error(`fake mode: ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface FakeSite {
  /** Origin of the fake Frappe site (127.0.0.1). */
  origin: string;
  /** The same server under another host name: a different origin, used as the embedding website. */
  embedderOrigin: string;
  mode: SessionMode;
  maxDurationSec: number;
  /** create_session waits this long before answering (a slow Frappe). */
  createDelayMs: number;
  calls: RecordedCall[];
  /** What get_public_profiles (and the page's config) answers; PROFILES unless a test changes it. */
  profiles: readonly HarnessProfile[];
  callsTo(method: string): RecordedCall[];
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".css": "text/css", ".map": "application/json", ".txt": "text/plain" };

/** The company the fake site speaks for, with a logo at a public file's address. */
export const SITE_BRAND = { brand: "Voice Test Co", brand_logo: BRAND_LOGO_URL, brand_icon: BRAND_LOGO_URL };

export async function startFakeSite(ultravoxUrl: string, extraAllowedOrigins: string[] = []): Promise<FakeSite> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const embedderOrigin = `http://localhost:${port}`;
  let callSeq = 0;
  const site: FakeSite = {
    origin,
    embedderOrigin,
    mode: "ok",
    maxDurationSec: 300,
    createDelayMs: 0,
    calls: [],
    profiles: PROFILES,
    callsTo: (m) => site.calls.filter((c) => c.method === m),
    stop: async () => new Promise((r) => server.close(() => r())),
  };

  async function createSession(args: Record<string, unknown>, res: ServerResponse): Promise<void> {
    if (site.createDelayMs > 0) await new Promise((r) => setTimeout(r, site.createDelayMs));
    if (site.mode !== "ok") return frappeError(res, Number(site.mode), ERRORS[site.mode]);
    const profile = site.profiles.find((p) => p.name === args.profile);
    if (!profile) return frappeError(res, 417, { exc_type: "ValidationError", message: `Voice Agent Profile ${String(args.profile)} is not available` });
    const created = await fetch(`${ultravoxUrl}/api/calls`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Key": "test-key" },
      body: JSON.stringify({ systemPrompt: `You help with ${profile.use_case}.`, medium: { webRtc: {} }, maxDuration: `${site.maxDurationSec}s` }),
    });
    if (!created.ok) return frappeError(res, 502, ERRORS["502"]);
    const call = (await created.json()) as { joinUrl: string };
    callSeq += 1;
    json(res, 200, {
      message: {
        session_id: `VS-${String(callSeq).padStart(5, "0")}`,
        client_token: `client-token-${callSeq}`,
        join_url: call.joinUrl,
        max_duration_sec: site.maxDurationSec,
        profile_title: profile.title,
      },
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    if (req.method === "GET" && url.pathname === "/voice-agent-live.js") {
      res.writeHead(200, { "Content-Type": "text/javascript" }).end(await liveBundle());
      return;
    }
    if (req.method === "GET" && (url.pathname === "/voice-agent" || url.pathname === "/voice-agent-live")) {
      const config = { profiles: site.profiles, allowedOrigins: [embedderOrigin, ...extraAllowedOrigins], siteName: SITE_BRAND.brand, csrfToken: "" };
      const html = renderPage(ROOT, TEMPLATE, {
        ...SITE_BRAND,
        lang: "en",
        title: `Talk to our assistant – ${SITE_BRAND.brand}`,
        asset_version: "e2e",
        config_json: JSON.stringify(config),
      });
      const live = url.pathname === "/voice-agent-live";
      const bundle = '<script src="/assets/voice_agent/dist/portal.js?v=e2e"></script>';
      if (live && !html.includes(bundle)) throw new Error("index.html no longer loads portal.js as the harness expects");
      res
        .writeHead(200, { "Content-Type": "text/html; charset=utf-8" })
        .end(live ? html.replace(bundle, '<script src="/voice-agent-live.js"></script>') : html);
      return;
    }
    if (req.method === "GET" && url.pathname === BRAND_LOGO_URL) {
      res.writeHead(200, { "Content-Type": "image/svg+xml" }).end(BRAND_LOGO_SVG);
      return;
    }
    if (req.method === "GET" && url.pathname.startsWith("/assets/voice_agent/dist/")) {
      const file = normalize(join(DIST, url.pathname.slice("/assets/voice_agent/dist/".length)));
      if (!file.startsWith(DIST)) return void res.writeHead(404).end();
      try {
        const body = await readFile(file);
        res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    if (req.method === "GET" && url.pathname === "/host.html") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(hostPage(origin, url.searchParams.get("mode") ?? "iframe"));
      return;
    }
    if (req.method === "POST" && url.pathname.startsWith(METHOD)) {
      const method = url.pathname.slice(METHOD.length);
      const args = await readJson(req);
      site.calls.push({ method, args });
      if (method === "create_session") return createSession(args, res);
      if (method === "update_session_status" || method === "process_transcript" || method === "end_session") {
        if (typeof args.session_id !== "string" || typeof args.client_token !== "string") {
          return frappeError(res, 417, { exc_type: "ValidationError", message: "session_id and client_token are required" });
        }
        return json(res, 200, { message: { ok: true } });
      }
      if (method === "get_public_profiles") return json(res, 200, { message: site.profiles });
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(String(error));
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return site;
}

/** A customer's website with the one-line widget embed. */
export function hostPage(siteOrigin: string, mode: string): string {
  const widget = `${siteOrigin}/assets/voice_agent/dist/widget.js`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop home</title></head>
<body style="font-family:sans-serif;margin:40px"><h1>Our shop</h1><p>Opening hours, menu, contact.</p><a href="#top" id="host-link">A link on the host page</a>
<script src="${widget}" data-voice-agent-profile="VAP-0002" data-voice-agent-label="Talk to us" data-voice-agent-color="#0f766e"
 data-voice-agent-mode="${escapeHtml(mode)}" data-voice-agent-context-order-ref="A-42" async></script></body></html>`;
}

let liveBundleCache: Promise<string> | null = null;

/** tests/e2e/portal-live-entry.ts bundled on demand: the page controller with a scripted session. */
function liveBundle(): Promise<string> {
  liveBundleCache ??= build({
    entryPoints: [join(ROOT, "tests/e2e/portal-live-entry.ts")],
    bundle: true,
    write: false,
    format: "iife",
    target: "chrome100",
    logLevel: "silent",
  }).then((r) => r.outputFiles[0]?.text ?? "");
  return liveBundleCache;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

/** Frappe's error response: exc_type plus `_server_messages`, a JSON list of JSON-encoded messages. */
function frappeError(res: ServerResponse, status: number, error: { exc_type: string; message: string }): void {
  json(res, status, {
    exc_type: error.exc_type,
    exception: `frappe.exceptions.${error.exc_type}: ${error.message}`,
    _server_messages: JSON.stringify([JSON.stringify({ message: error.message, title: "Message", indicator: "red" })]),
  });
}
