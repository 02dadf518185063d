// Harness of the call panel e2e tests: the real sidecar CLI, and a small
// Node server that serves the built bundles, the invite page and the few
// Frappe endpoints the panel calls (shapes of docs/desk-calling.md).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";
import { loadContracts } from "./contracts";
import { BRAND_LOGO_SVG, BRAND_LOGO_URL, renderPage } from "./page-template";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const SIDECAR_SECRET = "e2e-call-panel-secret-0123456789";

export interface RunningSidecar {
  url: string;
  /** What it printed so far (JSON log lines). */
  output(): string;
  stop(): Promise<number | null>;
  api<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** `node mediasoup-sidecar/dist/main.js` on ephemeral ports with a known secret. */
export async function startSidecar(env: Record<string, string> = {}): Promise<RunningSidecar> {
  const main = join(ROOT, "mediasoup-sidecar/dist/main.js");
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build in mediasoup-sidecar`);
  const outbox = mkdtempSync(join(tmpdir(), "va-call-panel-outbox-"));
  const child: ChildProcess = spawn(process.execPath, [main], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      SIDECAR_HOST: "127.0.0.1",
      SIDECAR_PORT: "0",
      SIDECAR_RTC_PORT: "0",
      SIDECAR_NUM_WORKERS: "1",
      SIDECAR_SECRET,
      SIDECAR_OUTBOX_PATH: outbox,
      SIDECAR_QUALITY_INTERVAL_SEC: "1",
      SIDECAR_DRAIN_GRACE_SEC: "1",
      SIDECAR_LOG_LEVEL: "info",
      FRAPPE_URL: "",
      ...env,
    },
  });
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar did not start:\n${log}`)), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      for (const line of log.split("\n")) {
        if (!line.includes('"sidecar listening"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code}:\n${log}`));
    });
  });
  const secret = env.SIDECAR_SECRET ?? SIDECAR_SECRET;
  return {
    url,
    output: () => log,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      const code = await exited;
      rmSync(outbox, { recursive: true, force: true });
      return code;
    },
    async api<T>(method: "GET" | "POST", path: string, body?: unknown) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
    },
  };
}

/** A call token per contracts/call-token.schema.json (HS256, iss/aud fixed). */
export async function mintToken(o: {
  callId: string;
  participantId: string;
  role: "agent" | "customer" | "supervisor";
  name?: string;
  listenOnly?: boolean;
  secret?: string;
  ttlSec?: number;
}): Promise<string> {
  const claims: Record<string, unknown> = { call: o.callId, role: o.role, jti: crypto.randomUUID().replaceAll("-", "") };
  if (o.name) claims.name = o.name;
  if (o.listenOnly !== undefined) claims.listenOnly = o.listenOnly;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("voice_agent")
    .setAudience("voice-agent-sidecar")
    .setSubject(o.participantId)
    .setIssuedAt(now)
    .setExpirationTime(now + (o.ttlSec ?? 600))
    .sign(new TextEncoder().encode(o.secret ?? SIDECAR_SECRET));
}

export interface FakeFrappeCall {
  method: string;
  args: Record<string, unknown>;
}

export interface FakeFrappe {
  origin: string;
  calls: FakeFrappeCall[];
  /** Overrides for failure tests: what the next join answer carries. */
  tweak: { signalingUrl?: string; tokenSecret?: string; ringTimeoutSec?: number; initiateError?: string; endCallError?: string };
  stop(): Promise<void>;
}

// What the calling endpoints answer (contracts/frappe-api.schema.json): the fake answers only that.
const CALL_ANSWERS: Record<string, string> = {
  initiate_call: "JoinAnswer",
  rejoin_call: "JoinAnswer",
  join_invite: "JoinAnswer",
  join_as_supervisor: "JoinAnswer",
  create_invite: "InviteAnswer",
  send_invite: "InviteAnswer",
  end_call: "EndCallAnswer",
  get_call_state: "CallSnapshot",
};

/** The company the fake site speaks for on the invite page, with a logo at a public file's address. */
export const INVITE_BRAND = { brand: "Example Ltd", brand_logo: BRAND_LOGO_URL, brand_icon: BRAND_LOGO_URL };

const TYPES: Record<string, string> = { ".js": "text/javascript", ".map": "application/json", ".css": "text/css", ".html": "text/html" };

const HARNESS_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Desk harness</title>
<style>body{margin:0;min-height:100vh;background:#f4f5f6;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;color:#1f272e}
header{background:#fff;border-bottom:1px solid #e2e6e9;padding:14px 24px;font-weight:600}
main{padding:24px}.card{background:#fff;border:1px solid #e2e6e9;border-radius:8px;padding:20px;max-width:640px}
.card h1{font-size:18px;margin:0 0 8px}.card p{margin:4px 0;color:#6b7280}</style></head>
<body><header>Desk (test harness)</header><main><div class="card"><h1>Lead: Jane Doe</h1><p>CRM-LEAD-2026-00001 · jane@example.com</p><p>Status: Open</p></div></main>
<script src="/assets/voice_agent/dist/call_panel.js"></script></body></html>`;

/** The fake Frappe site: static bundles, the real invite page template, and the calls endpoints. */
export async function startFakeFrappe(sidecar: RunningSidecar): Promise<FakeFrappe> {
  const contracts = loadContracts(ROOT);
  const calls: FakeFrappeCall[] = [];
  const invites = new Map<string, string>();
  const tweak: FakeFrappe["tweak"] = {};
  let seq = 0;
  let origin = "";

  async function joinAnswer(callId: string, participantId: string, role: "agent" | "customer" | "supervisor", extra: { name?: string; listenOnly?: boolean } = {}) {
    const token = await mintToken({ callId, participantId, role, ...extra, secret: tweak.tokenSecret });
    return {
      call: callId,
      signaling_url: tweak.signalingUrl ?? sidecar.url,
      token,
      expires_at: new Date(Date.now() + 600_000).toISOString(),
      ice_servers: [],
      role,
      participant_id: participantId,
    };
  }

  const methods: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
    async initiate_call(args) {
      if (tweak.initiateError) throw new HttpError(417, tweak.initiateError);
      const callId = `VC-2026-${String(++seq).padStart(5, "0")}`;
      const room = await sidecar.api("POST", "/api/rooms", {
        callId,
        ...(tweak.ringTimeoutSec ? { ringTimeoutSec: tweak.ringTimeoutSec } : {}),
      });
      if (room.status !== 201 && room.status !== 200) throw new HttpError(417, "The call server is not reachable.");
      return joinAnswer(callId, "agent@example.com", "agent", { name: "Alice Agent" });
    },
    async create_invite(args) {
      const invite = randomBytes(16).toString("hex"); // as Frappe names invites: 32 random characters
      invites.set(invite, String(args.call));
      return { url: `${origin}/call?invite=${invite}`, expires_at: new Date(Date.now() + 1_800_000).toISOString(), invite };
    },
    async send_invite(args) {
      const { url, expires_at, invite } = (await methods.create_invite!(args)) as { url: string; expires_at: string; invite: string };
      return { url, expires_at, invite, email: args.email };
    },
    async join_invite(args) {
      const callId = invites.get(String(args.invite));
      if (!callId) throw new HttpError(417, "This invitation is not valid.");
      return joinAnswer(callId, String(args.invite), "customer", args.name ? { name: String(args.name) } : {});
    },
    async join_as_supervisor(args) {
      const listenOnly = args.listen_only !== false && args.listen_only !== 0;
      return joinAnswer(String(args.call), "manager@example.com", "supervisor", { name: "Sam Supervisor", listenOnly });
    },
    async end_call(args) {
      if (tweak.endCallError) throw new HttpError(417, tweak.endCallError);
      const res = await sidecar.api<{ state: string; endReason?: string }>("POST", `/api/rooms/${String(args.call)}/end`, { reason: "hangup" });
      return { call: args.call, state: res.body.state, end_reason: res.body.endReason ?? null };
    },
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      send(res, status, "application/json", JSON.stringify({ exc_type: "ValidationError", _server_messages: JSON.stringify([JSON.stringify({ message })]) }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.startsWith("/api/method/voice_agent.api.calls.")) {
      if (req.method !== "POST") throw new HttpError(405, "POST only");
      const name = url.pathname.slice("/api/method/voice_agent.api.calls.".length);
      const method = methods[name];
      if (!method) throw new HttpError(404, `no method ${name}`);
      const args = await readJson(req);
      calls.push({ method: name, args });
      const answer = await method(args);
      const definition = CALL_ANSWERS[name];
      if (definition) contracts.check("frappe-api.schema.json", definition, answer, name);
      return send(res, 200, "application/json", JSON.stringify({ message: answer }));
    }
    if (url.pathname === "/harness/desk.html") return send(res, 200, "text/html", HARNESS_HTML);
    if (url.pathname === "/call") {
      const html = renderPage(ROOT, "voice_agent/www/call/index.html", { ...INVITE_BRAND, lang: "en", title: "Join the call – Example Ltd", asset_version: "e2e" });
      return send(res, 200, "text/html", html);
    }
    if (url.pathname === BRAND_LOGO_URL) return send(res, 200, "image/svg+xml", BRAND_LOGO_SVG);
    if (url.pathname.startsWith("/assets/voice_agent/dist/")) {
      const rel = normalize(url.pathname.slice("/assets/voice_agent/dist/".length));
      if (rel.startsWith("..")) throw new HttpError(404, "not found");
      const file = join(ROOT, "voice_agent/public/dist", rel);
      if (!existsSync(file)) throw new HttpError(404, "not found");
      return send(res, 200, TYPES[extname(file)] ?? "application/octet-stream", readFileSync(file));
    }
    throw new HttpError(404, "not found");
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  origin = `http://127.0.0.1:${address.port}`;
  return {
    origin,
    calls,
    tweak,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  const type = req.headers["content-type"] ?? "";
  if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  return JSON.parse(text) as Record<string, unknown>;
}
