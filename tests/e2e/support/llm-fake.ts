/// <reference types="node" />
// The loopback fake of the OpenAI and Anthropic chat APIs (tests/fakes/llm, python -m tests.fakes.llm), standalone,
// scripted and read through its /_fake control routes (tests/fakes/llm/README.md).
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface LLMReady {
  base_url: string;
  openai_base_url: string;
  anthropic_base_url: string;
  openai_key: string;
  anthropic_key: string;
  control: string;
}

/** One tool call of a scripted reply: `arguments` as an object (a string is sent verbatim). */
export interface ScriptedCall {
  name: string;
  arguments: Record<string, unknown> | string;
  id?: string;
}

/** A step of the fake's script ({reply: ...} answers one request; see the README for fail, hang, drop). */
export type Step = { reply: { text?: string; tool_calls?: ScriptedCall[]; stop?: string; usage?: [number, number] } } | { fail: Record<string, unknown> };

/** A request the fake got, as its control route shows it (keys redacted). */
export interface LLMRequest {
  api: string;
  path: string;
  body: {
    model?: string;
    messages?: { role: string; content?: unknown; tool_calls?: unknown[]; tool_call_id?: string }[];
    tools?: { type: string; function: { name: string; description: string; parameters: Record<string, unknown> } }[];
  };
  at: number;
  status: number;
  answered_by: string;
}

export interface FakeLLM extends LLMReady {
  script(steps: Step[]): Promise<void>;
  requests(): Promise<LLMRequest[]>;
  stop(): Promise<void>;
}

/** `--no-echo`: a request nothing was scripted for gets a 400, so a model call the check did not expect fails it. */
export async function startFakeLLM(root: string, opts: { latencyMs?: number } = {}): Promise<FakeLLM> {
  const python = process.env.VA_PYTHON ?? join(root, ".venv/bin/python");
  const child: ChildProcess = spawn(python, ["-m", "tests.fakes.llm", "--port", "0", "--latency-ms", String(opts.latencyMs ?? 0), "--no-echo"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<LLMReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fake LLM did not start: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as LLMReady);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`fake LLM exited with ${code}: ${stderr}`));
    });
  });
  async function control<T>(route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${ready.base_url}/_fake/${route}`, body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`fake LLM /_fake/${route}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }
  return {
    ...ready,
    script: async (steps) => void (await control("script", { steps })),
    requests: () => control<LLMRequest[]>("requests"),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
