/// <reference types="node" />
// The loopback fake of Meta's Graph API (tests/fakes/whatsapp, python -m tests.fakes.whatsapp),
// with its signed webhooks pointed at the fake Frappe, and the /_fake control routes the tests use.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface GraphReady {
  base_url: string;
  lookaside_url: string;
  token: string;
  phone_number_id: string;
  waba_id: string;
  display_phone_number: string;
  media_hosts: string[];
  control: string;
  webhook_url: string | null;
}

export interface FakeGraph extends Omit<GraphReady, "control"> {
  controlUrl: string;
  control(path: string, body?: unknown, method?: "GET" | "POST"): Promise<unknown>;
  /** A customer's inbound message, signed and posted to the webhook as Meta would. */
  inbound(build: string, args: Record<string, unknown>, name?: string): Promise<{ message_id: string }>;
  /** Where the signed webhooks go (the fake Frappe's whatsapp_webhook). */
  setWebhook(url: string): Promise<void>;
  /** A customer's file, to reference from an inbound media message. */
  seedMedia(data: Buffer, mimeType: string, filename: string): Promise<{ id: string; sha256: string }>;
  stop(): Promise<void>;
}

export const APP_SECRET = "e2e-whatsapp-app-secret";

/** A number and an App Secret of its own, so that a run on a shared site touches no other account. */
export interface FakeGraphOptions {
  phoneNumberId?: string;
  appSecret?: string;
  token?: string;
}

export async function startFakeGraph(root: string, options: FakeGraphOptions = {}): Promise<FakeGraph> {
  const python = process.env.VA_PYTHON ?? join(root, ".venv/bin/python");
  const appSecret = options.appSecret ?? APP_SECRET;
  const child: ChildProcess = spawn(
    python,
    [
      "-m", "tests.fakes.whatsapp", "--port", "0", "--token", options.token ?? "e2e-token", "--lookaside-host", "127.0.0.1",
      ...(options.phoneNumberId ? ["--phone-number-id", options.phoneNumberId] : []),
    ],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<GraphReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fake Graph did not start: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as GraphReady);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`fake Graph exited with ${code}: ${stderr}`));
    });
  });
  async function control(path: string, body?: unknown, method: "GET" | "POST" = "POST"): Promise<unknown> {
    const res = await fetch(`${ready.control}/${path}`, {
      method,
      headers: body instanceof Buffer ? {} : { "Content-Type": "application/json" },
      body: method === "GET" ? undefined : body instanceof Buffer ? body : JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`fake Graph /_fake/${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  return {
    ...ready,
    controlUrl: ready.control,
    control,
    async setWebhook(url) {
      await control("webhook", { url, app_secret: appSecret, max_attempts: 4, retry_delays: [0.2, 0.5, 1.0] });
    },
    inbound: (build, args, name = "Test Customer") => control("inbound", { build, args, name }) as Promise<{ message_id: string }>,
    async seedMedia(data, mimeType, filename) {
      const res = await fetch(`${ready.control}/media?filename=${encodeURIComponent(filename)}`, { method: "POST", headers: { "Content-Type": mimeType }, body: new Uint8Array(data) });
      if (!res.ok) throw new Error(`fake Graph media seed: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; sha256: string };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
