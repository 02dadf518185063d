/// <reference types="node" />
// What the WhatsApp checks on a real Frappe site share (not CI): the site's REST API under one session, the
// check's account, desk users and signed-in page, the settings it changes kept as they were, a customer's
// message signed as Meta posts it, the WhatsApp panel of a Lead's form, and the removal of what a check made
// with the traces Frappe keeps of it (the bench's Python, on the bench's own machine).
import { spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { CHROMIUM_PATH, chromiumArgs } from "./chromium";
import type { FakeGraph } from "./whatsapp-graph";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BENCH = process.env.VA_BENCH_DIR ?? "/home/frappe/frappe-bench";
const BENCH_PYTHON = `${BENCH}/env/bin/python`;
export const WEBHOOK = "/api/method/voice_agent.api.whatsapp.whatsapp_webhook";

/** The check runs on the bench's machine: its Python can remove what the REST API cannot. */
export const onBenchMachine = (): boolean => existsSync(BENCH_PYTHON);

/** A command of tests/bench/whatsapp_site.py in the bench's Python, as the bench's user. */
export function benchPython<T = Record<string, number>>(command: string, args: unknown): T {
  const cmd = [BENCH_PYTHON, `${ROOT}tests/bench/whatsapp_site.py`, command, "-"];
  const [program, ...argv] = process.getuid?.() === 0 ? ["runuser", "-u", process.env.VA_BENCH_USER ?? "frappe", "--", ...cmd] : cmd;
  const done = spawnSync(program!, argv, { input: JSON.stringify(args), cwd: `${BENCH}/sites`, encoding: "utf8", timeout: 60_000 });
  if (done.status !== 0) throw new Error(`whatsapp_site.py ${command}: ${done.stderr.slice(-2000)}`);
  return JSON.parse(done.stdout.trim().split("\n").pop() ?? "{}") as T;
}

/** Until the site answers (it may be restarting). */
export async function waitForSite(site: string, seconds = 60): Promise<void> {
  for (let tries = 0; tries < seconds && !(await fetch(`${site}/api/method/ping`).then((r) => r.ok, () => false)); tries++) {
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export interface ApiInit {
  method?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export interface SiteRest {
  api<T>(path: string, init?: ApiInit): Promise<{ status: number; data: T; text: string }>;
  /** The answer's data; throws on an error status. */
  ok<T>(path: string, init?: ApiInit): Promise<T>;
  /** Newest first (a reply goes before the message it quotes when they are removed). */
  list<T = { name: string }>(doctype: string, filters: unknown[], fields?: string[]): Promise<T[]>;
}

/** The site's REST API with the session `sid()` (read at each call: the session is made in beforeAll). */
export function siteRest(site: string, sid: () => string): SiteRest {
  async function api<T>(path: string, init: ApiInit = {}): Promise<{ status: number; data: T; text: string }> {
    const res = await fetch(`${site}${path}`, {
      method: init.method ?? (init.body === undefined && init.raw === undefined ? "GET" : "POST"),
      // A Content-Type without a body makes Frappe answer 400 (it parses the empty JSON).
      headers: { Cookie: `sid=${sid()}`, Accept: "application/json", ...(init.body === undefined ? {} : { "Content-Type": "application/json" }), ...init.headers },
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as { data?: T; message?: T }) : {};
    return { status: res.status, data: (json.data ?? json.message) as T, text };
  }
  async function ok<T>(path: string, init: ApiInit = {}): Promise<T> {
    const { status, data, text } = await api<T>(path, init);
    if (status >= 300) {
      const method = init.method ?? (init.body === undefined && init.raw === undefined ? "GET" : "POST");
      // Frappe's error answer: the exception line says why (the traceback and messages follow it).
      const why = (() => { try { return (JSON.parse(text) as { exception?: string }).exception; } catch { return undefined; } })();
      throw new Error(`${method} ${path}: ${status} ${why ?? text.slice(0, 500)}`);
    }
    return data;
  }
  const list = <T = { name: string }>(doctype: string, filters: unknown[], fields = ["name"]) =>
    ok<T[]>(`/api/resource/${encodeURIComponent(doctype)}?filters=${encodeURIComponent(JSON.stringify(filters))}&fields=${encodeURIComponent(JSON.stringify(fields))}&order_by=${encodeURIComponent(`\`tab${doctype}\`.creation desc`)}&limit_page_length=0`);
  return { api, ok, list };
}

/** Single doctypes a check changes, as they were: exactly on the bench's machine (passwords and `modified` too,
 * read by the bench's Python), elsewhere the fields named, through the REST API. */
export interface SavedSingles {
  exact?: unknown;
  fields: Record<string, Record<string, unknown>>;
}

const singlePath = (doctype: string) => `/api/resource/${encodeURIComponent(doctype)}/${encodeURIComponent(doctype)}`;

export async function saveSingles(rest: SiteRest, fields: Record<string, readonly string[]>): Promise<SavedSingles> {
  const saved: SavedSingles = { exact: onBenchMachine() ? benchPython<unknown>("singles", { doctypes: Object.keys(fields) }) : undefined, fields: {} };
  for (const [doctype, names] of Object.entries(fields)) {
    const doc = await rest.ok<Record<string, unknown>>(singlePath(doctype));
    saved.fields[doctype] = Object.fromEntries(names.map((name) => [name, doc[name]]));
  }
  return saved;
}

export async function restoreSingles(rest: SiteRest, saved: SavedSingles): Promise<void> {
  if (saved.exact) {
    benchPython("restore_singles", { saved: saved.exact });
    return;
  }
  for (const [doctype, values] of Object.entries(saved.fields)) await rest.ok(singlePath(doctype), { method: "PUT", body: values });
}

/**
 * The check's WhatsApp Account on the fake Graph, with what the check adds in `fields` (calling, the bot). It
 * is the one record the site refuses outside developer mode (its Graph address is the fake's): a check makes
 * it first, so that such a site fails the check before anything else is made.
 */
export async function createAccount(
  rest: SiteRest, graph: FakeGraph, account: { title: string; phoneNumberId: string; token: string; appSecret: string }, fields: Record<string, unknown> = {},
): Promise<string> {
  return (await rest.ok<{ name: string }>("/api/resource/WhatsApp Account", {
    body: {
      title: account.title, enabled: 1, phone_number_id: account.phoneNumberId, waba_id: graph.waba_id, access_token: account.token,
      app_secret: account.appSecret, verify_token: randomBytes(8).toString("hex"), graph_api_version: "v23.0", graph_base_url: graph.base_url,
      default_owner: "Administrator", ...fields,
    },
  })).name;
}

export interface DeskPerson {
  email: string;
  first: string;
  password: string;
}

/** Desk users who sign in with their password, as sales users who take WhatsApp conversations and calls. */
export async function createDeskUsers(rest: SiteRest, people: readonly DeskPerson[], lastName: string): Promise<string[]> {
  const users: string[] = [];
  for (const person of people) {
    users.push((await rest.ok<{ name: string }>("/api/resource/User", {
      body: {
        email: person.email, first_name: person.first, last_name: lastName, send_welcome_email: 0, new_password: person.password,
        roles: [{ role: "Voice Agent User" }, { role: "Sales User" }],
      },
    })).name);
  }
  return users;
}

/** A headless Chromium and a desk page signed in with the session `sid`, its page errors added to `errors`. */
export async function signedInPage(site: string, sid: string, errors: string[], height = 860): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: chromiumArgs() });
  const context = await browser.newContext({ viewport: { width: 1280, height }, locale: "en-GB" });
  await context.addCookies([{ name: "sid", value: sid, url: site }]);
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  return { browser, page };
}

/** Who writes: a customer's number to one of our numbers, signed with its App Secret. */
export interface Sender {
  graph: FakeGraph;
  phoneNumberId: string;
  appSecret: string;
  customer: string;
  name: string;
}

/** A `messages` webhook as Meta posts it, and its X-Hub-Signature-256 under `secret`. */
export function signedText(from: Sender, text: string, secret = from.appSecret): { body: string; signature: string; wamid: string } {
  const wamid = `wamid.HBgM${randomBytes(18).toString("hex").toUpperCase()}`;
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{
      id: from.graph.waba_id,
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: from.graph.display_phone_number, phone_number_id: from.phoneNumberId },
          contacts: [{ profile: { name: from.name }, wa_id: from.customer }],
          messages: [{ from: from.customer, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: "text", text: { body: text } }],
        },
      }],
    }],
  });
  return { body, wamid, signature: `sha256=${createHmac("sha256", secret).update(body).digest("hex")}` };
}

export const postWebhook = (site: string, body: string, signature: string) =>
  fetch(`${site}${WEBHOOK}`, { method: "POST", headers: { "Content-Type": "application/json", "X-Hub-Signature-256": signature }, body });

export const drawerOf = (page: Page): Locator => page.locator(".va-wa-drawer");

/** The Lead's form with its WhatsApp panel open. */
export async function openLeadPanel(page: Page, site: string, lead: string): Promise<void> {
  await page.goto(`${site}/app/lead/${encodeURIComponent(lead)}`);
  await page.getByRole("button", { name: "WhatsApp", exact: true }).first().click({ timeout: 30_000 });
  await drawerOf(page).waitFor();
}

/** What a check made, deleted through the REST API (as a person would), and what could not be. */
export class Removal {
  readonly left: string[] = [];
  readonly removed: [string, string][] = [];
  readonly #since = Date.now();

  constructor(private readonly rest: SiteRest) {}

  async remove(doctype: string, name: string): Promise<void> {
    const path = `/api/resource/${encodeURIComponent(doctype)}/${encodeURIComponent(name)}`;
    let answer = await this.rest.api(path, { method: "DELETE" });
    // A shared site: another client's transaction may hold the same rows for a moment (a lock wait that timed
    // out, a deadlock); Frappe rolled ours back, so it is tried again.
    for (let tries = 1; tries < 5 && answer.status >= 500 && /QueryDeadlockError|QueryTimeoutError/.test(answer.text); tries++) {
      await new Promise((r) => setTimeout(r, 2000));
      answer = await this.rest.api(path, { method: "DELETE" });
    }
    if (answer.status >= 300) this.left.push(`${doctype} ${name}: ${answer.status} ${answer.text.slice(0, 300)}`);
    else this.removed.push([doctype, name]);
  }

  /** The REST API cannot delete permanently: Frappe keeps a Deleted Document copy, a "Deleted" feed line and the
   * Versions of each record. The bench's Python removes those, the Error Logs that name them, and what the
   * sessions of `users` (made and deleted by the check) and the check's own logins left: `sessions` (sids) and
   * `logins` (who logged in, between when and when, epoch ms); `madeSince`: when the check began (epoch ms), for
   * what it wrote before deleting. */
  forget(opts: { users?: string[]; sessions?: string[]; logins?: { user: string; from: number; until: number }[]; madeSince?: number } = {}): Forgotten {
    const ago = (since: number) => Math.ceil((Date.now() - since) / 1000) + 5;
    return benchPython<Forgotten>("forget_deletions", {
      records: this.removed, seconds: ago(this.#since), made_seconds: ago(opts.madeSince ?? this.#since), users: opts.users ?? [],
      sessions: opts.sessions ?? [], logins: (opts.logins ?? []).map((l) => [l.user, l.from, l.until]),
    });
  }
}

/** What forget_deletions removed (counts), and the titles of the Error Logs that named the check's records. */
export interface Forgotten {
  deleted_documents: number;
  feed_lines: number;
  versions: number;
  logins: number;
  error_logs: string[];
}

/** The account's messages, conversations (with their assignments), webhook events, the customer's Leads (with
 * their Contacts), the account, and the templates a sync of it made. */
export async function removeWhatsApp(rest: SiteRest, removal: Removal, made: { account: string; customer: string; wabaId: string; templatesBefore: Set<string> }): Promise<void> {
  const { account, customer } = made;
  for (const m of await rest.list("WhatsApp Message", [["account", "=", account]])) await removal.remove("WhatsApp Message", m.name);
  for (const c of await rest.list("WhatsApp Conversation", [["account", "=", account]])) {
    for (const t of await rest.list("ToDo", [["reference_type", "=", "WhatsApp Conversation"], ["reference_name", "=", c.name]])) await removal.remove("ToDo", t.name);
    await removal.remove("WhatsApp Conversation", c.name);
  }
  for (const e of await rest.list("WhatsApp Webhook Event", [["account", "=", account]])) await removal.remove("WhatsApp Webhook Event", e.name);
  for (const l of await rest.list("Lead", [["mobile_no", "like", `%${customer}%`]])) {
    for (const c of await rest.list("Contact", [["Dynamic Link", "link_name", "=", l.name]])) await removal.remove("Contact", c.name);
    await removal.remove("Lead", l.name);
  }
  await removal.remove("WhatsApp Account", account);
  for (const t of await rest.list("WhatsApp Template", [["waba_id", "=", made.wabaId]])) {
    if (!made.templatesBefore.has(t.name)) await removal.remove("WhatsApp Template", t.name); // the sync made it
  }
}
