/// <reference types="node" />
// A fake of the Frappe side of WhatsApp messaging for the desk's browser tests: the
// voice_agent.api.whatsapp.* endpoints (voice_agent/api/whatsapp.py and the modules behind it,
// conversations/service.py, integrations/whatsapp/{outbound,inbound,statuses,media}.py) with their
// rules and sentences, Frappe's upload_file and private files, the signed webhook Meta (here the
// Graph fake) posts to, and `whatsapp_update` pushes to the desk pages (server-sent events standing
// in for Frappe's socket.io). Every answer and push is checked against
// contracts/whatsapp-api.schema.json before it leaves; the app's pure Python (whatsapp-python.ts)
// verifies and parses webhooks, talks to the Graph fake, fills templates and words errors.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";
import { loadContracts } from "./contracts";
import { loadContract, type ContractCheck } from "./whatsapp-contract";
import { APP_SECRET, type FakeGraph } from "./whatsapp-graph";
import type { AppPython, GraphErrorInfo } from "./whatsapp-python";
import { deskPage, HARNESS_FRAPPE_JS } from "./whatsapp-desk";

export const USER = "agent@example.com";
export const COLLEAGUE = "colleague@example.com";
export const CSRF_TOKEN = "e2e-csrf-token-0123456789";
const METHOD = "/api/method/voice_agent.api.whatsapp.";
const CALLS_METHOD = "/api/method/voice_agent.api.whatsapp_calls.";
/** Which desk user a request or an event stream is (the real desk: the session cookie). */
export const USER_COOKIE = "harness_user";
const DAY = 24 * 3_600_000;
const PARTY_ORDER = ["Contact", "Lead", "Customer", "CRM Lead", "CRM Deal"];
const MEDIA_KINDS = ["image", "audio", "video", "document", "sticker"];

// --- records ---------------------------------------------------------------------------------

export interface PartyRecord {
  doctype: string;
  name: string;
  title: string;
  phone: string | null;
}

interface AccountRecord {
  name: string;
  title: string;
  phone_number_id: string;
  waba_id: string;
  members: string[];
}

interface ConversationRecord {
  name: string;
  account: string;
  wa_id: string;
  phone: string | null;
  profile_name: string | null;
  party: { doctype: string; name: string } | null;
  /** Other records with this number (the conversation can be re-linked to one). */
  other_parties?: { doctype: string; name: string }[];
  assigned_to: string | null;
  unread_count: number;
  last_message_at: number | null;
  last_message_preview: string | null;
  last_inbound_at: number | null;
  status: "Open" | "Closed";
  creation: number;
}

interface MessageRecord {
  name: string;
  seq: number;
  conversation: string;
  direction: "inbound" | "outbound";
  kind: string;
  status: string;
  text: string | null;
  wamid: string | null;
  created_at: number;
  at: Partial<Record<"sent" | "delivered" | "read" | "failed", number>>;
  error: { code: number | null; title: string; message: string; details: string | null } | null;
  sent_by: string | null;
  reply_to: string | null;
  reply_to_wamid: string | null;
  media: { id: string | null; url: string | null; mime_type: string | null; filename: string | null; size: number | null; state: string; sha256: string | null } | null;
  template: string | null;
  template_values: Record<string, Record<string, string>> | null;
  interactive: { options: { id: string; title: string; description?: string | null }[]; chosen: string | null; list_button?: string } | null;
  reaction: { emoji: string | null; to: string | null } | null;
  location: { latitude: number; longitude: number; name: string | null; address: string | null } | null;
  attempts: number;
}

interface TemplateRecord {
  name: string;
  template_name: string;
  language: string;
  category: string | null;
  status: string;
  waba_id: string;
  components: unknown[];
  summary: { header: { format: string; text?: string | null } | null; body: string; footer: string | null; buttons: string[] };
  parameters: { component: "header" | "body"; index: number; kind: string; example: string | null }[];
}

interface FileRecord {
  name: string;
  file_name: string;
  file_url: string;
  content: Buffer;
  mime_type: string;
  attached_to: [string, string] | null;
}

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  status: number;
}

class FrappeError extends Error {
  constructor(
    readonly status: number,
    readonly excType: string,
    message: string,
    readonly title?: string,
  ) {
    super(message);
  }
}

const throwValidation = (message: string, title?: string): never => {
  throw new FrappeError(417, "ValidationError", message, title);
};

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString().replace("Z", "+00:00"));

// --- the fake ----------------------------------------------------------------------------------

export interface FakeFrappe {
  origin: string;
  calls: RecordedCall[];
  /** Answers or pushes the contract refused (a test expects none). */
  contractErrors: string[];
  /** Webhook deliveries refused (bad signature) or failed. */
  webhookErrors: string[];
  /** Messages of a conversation, as stored (newest last). */
  messages(conversation: string): MessageRecord[];
  conversationOf(doctype: string, name: string): ConversationRecord | undefined;
  /** Seeds a conversation with `history` (oldest first) without going through Meta. */
  seedConversation(opts: SeedConversation): Promise<string>;
  addParty(party: PartyRecord): void;
  /** Retry delay of temporary Graph failures (the real queue backs off for minutes). */
  retryDelayMs: number;
  /** WhatsApp calling (started with `calling`): what the webhook and Graph would make happen. */
  whatsappCalls: FakeWhatsAppCalls;
  stop(): Promise<void>;
}

/** The voice_agent.api.whatsapp_calls.* side (voice_agent/integrations/whatsapp/calls.py, telephony/whatsapp.py). */
export interface FakeWhatsAppCalls {
  /** A customer's call rings the account's team (the connect webhook, the leg, pre_accept, ring()). */
  ring(conversation: string, opts?: { ringSeconds?: number }): string;
  /** The call ends (ring timeout, the customer hung up): whatsapp_call_ended to those it rang. */
  end(call: string, state: "missed" | "ended", endReason: "no_answer" | "remote_hangup"): void;
  /**
   * Meta's terminate of a call the desk answered (the customer hung up), as calls._terminated and the
   * settle job handle it: the Voice Call ends (remote_hangup, voice_call_update to its agent), then the
   * room is ended with the call's reason.
   */
  terminate(call: string): Promise<void>;
  /** The customer answers the permission request (the call_permission_reply webhook). */
  answerPermission(conversation: string, accepted: boolean): void;
  state(call: string): { state: string; agent: string | null; declined: string[] } | undefined;
}

export interface CallingOptions {
  /**
   * How the desk joins a call's room (the test's sidecar): what start_whatsapp_call / accept_whatsapp_call
   * answer, and join_as_supervisor with `supervisor`.
   */
  joinAnswer(call: string, user: string, supervisor?: { listenOnly: boolean }): Promise<unknown>;
  /** What voice_agent.api.calls.end_call does to the room (the desk hangs up; Graph's terminate is the server's). */
  endRoom(call: string, reason: string): Promise<void>;
}

export interface SeedMessage {
  direction: "inbound" | "outbound";
  text?: string;
  minutesAgo: number;
  status?: string;
  kind?: string;
  file?: { data: Buffer; mime_type: string; filename: string };
}

export interface SeedConversation {
  party: { doctype: string; name: string } | null;
  wa_id: string;
  profile_name: string;
  assigned_to?: string | null;
  unread_count?: number;
  history: SeedMessage[];
}

export async function startFakeFrappe(opts: { root: string; python: AppPython; graph: FakeGraph; parties: PartyRecord[]; calling?: CallingOptions }): Promise<FakeFrappe> {
  const { root, python, graph, calling } = opts;
  const contract: ContractCheck = loadContract(root);
  const frappeApi = loadContracts(root);
  const calls: RecordedCall[] = [];
  const contractErrors: string[] = [];
  const webhookErrors: string[] = [];
  const parties = new Map<string, PartyRecord>(opts.parties.map((p) => [`${p.doctype}/${p.name}`, p]));
  const account: AccountRecord = { name: "WA-ACC-0001", title: "Sales +1 555-078-3881", phone_number_id: graph.phone_number_id, waba_id: graph.waba_id, members: [USER, COLLEAGUE] };
  const accounts = new Map([[account.name, account]]);
  const users = new Map([
    [USER, { enabled: true, manager: false }],
    [COLLEAGUE, { enabled: true, manager: false }],
    ["manager@example.com", { enabled: true, manager: true }],
  ]);
  const conversations = new Map<string, ConversationRecord>();
  const messages = new Map<string, MessageRecord>();
  const templates = new Map<string, TemplateRecord>();
  const files = new Map<string, FileRecord>();
  const pendingStatuses = new Map<string, unknown[]>();
  const clients = new Map<string, { res: ServerResponse; user: string; rooms: Set<string> }>();
  let seq = 0;
  let clock = Date.now();
  const now = (): number => (clock = Math.max(clock + 1, Date.now()));
  const nextName = (prefix: string): string => `${prefix}-${String(++seq).padStart(5, "0")}`;
  let origin = "";
  const fake: FakeFrappe = {
    origin: "",
    calls,
    contractErrors,
    webhookErrors,
    retryDelayMs: 1500,
    whatsappCalls: undefined as unknown as FakeWhatsAppCalls,
    messages: (c) => [...messages.values()].filter((m) => m.conversation === c).sort((a, b) => a.seq - b.seq),
    conversationOf: (doctype, name) => [...conversations.values()].find((c) => c.party?.doctype === doctype && c.party?.name === name),
    seedConversation,
    addParty: (p) => parties.set(`${p.doctype}/${p.name}`, p),
    stop: async () => {
      for (const c of clients.values()) c.res.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  await python.call("configure", { token: graph.token, base_url: graph.base_url, media_hosts: graph.media_hosts, phone_number_id: graph.phone_number_id });
  await syncTemplates();

  // --- views (the doctypes' view() methods) ---------------------------------------------------

  function partyTitle(party: { doctype: string; name: string } | null): string | null {
    return party ? (parties.get(`${party.doctype}/${party.name}`)?.title ?? party.name) : null;
  }

  function conversationView(c: ConversationRecord): Record<string, unknown> {
    return {
      name: c.name,
      account: c.account,
      account_title: accounts.get(c.account)?.title ?? c.account,
      wa_id: c.wa_id,
      profile_name: c.profile_name || null,
      party: c.party ? { doctype: c.party.doctype, name: c.party.name, title: partyTitle(c.party) } : null,
      other_parties: (c.other_parties ?? []).map((p) => ({ doctype: p.doctype, name: p.name, title: partyTitle(p) ?? p.name })),
      assigned_to: c.assigned_to,
      unread_count: c.unread_count,
      last_message_at: iso(c.last_message_at),
      last_message_preview: c.last_message_preview,
      window_ends_at: iso(c.last_inbound_at === null ? null : c.last_inbound_at + DAY),
      status: c.status,
      bot_state: null,
      lead_score: null,
      bot: null,
    };
  }

  function messageView(m: MessageRecord): Record<string, unknown> {
    const template = m.template ? templates.get(m.template) : undefined;
    const replyText = m.reply_to ? (messages.get(m.reply_to)?.text ?? null) : null;
    return {
      name: m.name,
      conversation: m.conversation,
      wamid: m.wamid,
      direction: m.direction,
      kind: m.kind,
      status: m.status,
      text: m.text,
      created_at: iso(m.created_at),
      status_at: { sent: iso(m.at.sent), delivered: iso(m.at.delivered), read: iso(m.at.read), failed: iso(m.at.failed) },
      error: m.error ? { code: m.error.code, message: m.error.message || m.error.title, retrying: m.status === "queued" || m.status === "sending" } : null,
      sent_by: m.sent_by,
      bot_reply: false,
      reply_to: m.reply_to || m.reply_to_wamid ? { name: m.reply_to, text: replyText } : null,
      media: m.media && (m.media.id || m.media.url) ? { mime_type: m.media.mime_type, state: m.media.state, url: m.media.url, filename: m.media.filename, size: m.media.size } : null,
      template: m.template ? { name: template?.template_name ?? m.template, language: template?.language ?? "" } : null,
      interactive: m.interactive
        ? { options: m.interactive.options, chosen: m.interactive.chosen, list_button: m.interactive.list_button ?? null }
        : null,
      reaction: m.kind === "reaction" ? m.reaction : null,
      location: m.kind === "location" ? m.location : null,
    };
  }

  function preview(m: MessageRecord): string {
    if (m.text) return m.text;
    if (m.kind === "template") return `Template ${templates.get(m.template ?? "")?.template_name ?? ""}`;
    return m.kind.charAt(0).toUpperCase() + m.kind.slice(1);
  }

  // --- access (conversations/access.py) -------------------------------------------------------

  const isManager = (user: string): boolean => users.get(user)?.manager === true;
  const teamAccounts = (user: string): string[] => [...accounts.values()].filter((a) => a.members.includes(user)).map((a) => a.name);
  const maySee = (c: ConversationRecord, user: string): boolean => isManager(user) || c.assigned_to === user || teamAccounts(user).includes(c.account);

  function conversationFor(name: unknown, user: string): ConversationRecord {
    const c = conversations.get(String(name));
    if (!c) throw new FrappeError(404, "DoesNotExistError", `WhatsApp Conversation ${String(name)} does not exist.`);
    if (!maySee(c, user)) throw new FrappeError(403, "PermissionError", "You cannot see this WhatsApp conversation.");
    return c;
  }

  function usersWhoSee(c: ConversationRecord): Set<string> {
    const out = new Set(accounts.get(c.account)?.members ?? []);
    if (c.assigned_to) out.add(c.assigned_to);
    for (const [u, info] of users) if (info.manager) out.add(u);
    return out;
  }

  // --- realtime ---------------------------------------------------------------------------------

  function publish(kind: "message" | "status" | "conversation", c: ConversationRecord, m?: MessageRecord): void {
    const payload: Record<string, unknown> = { kind, conversation: conversationView(c) };
    if (m) payload.message = messageView(m);
    try {
      contract.update(payload);
    } catch (error) {
      contractErrors.push((error as Error).message);
      return;
    }
    const data = `event: whatsapp_update\ndata: ${JSON.stringify(payload)}\n\n`;
    const audience = usersWhoSee(c);
    const room = c.party ? `doc:${c.party.doctype}:${c.party.name}` : null;
    // After commit, as publish_realtime(after_commit=True): the answer of the request goes first.
    setImmediate(() => {
      for (const client of clients.values()) {
        if (audience.has(client.user)) client.res.write(data);
        if (room && client.rooms.has(room)) client.res.write(data);
      }
    });
  }

  // --- parties and conversations (conversations/service.py, parties.py) -----------------------

  async function e164(raw: string | null): Promise<string | null> {
    if (!raw) return null;
    return python.call<string | null>("phone", { fn: "to_e164", value: raw, region: "GB" });
  }

  async function findParty(phone: string): Promise<PartyRecord | null> {
    const matches: PartyRecord[] = [];
    for (const p of parties.values()) if ((await e164(p.phone)) === phone) matches.push(p);
    matches.sort((a, b) => PARTY_ORDER.indexOf(a.doctype) - PARTY_ORDER.indexOf(b.doctype));
    return matches[0] ?? null;
  }

  async function conversationForCustomer(accountName: string, waId: string, profileName: string | null): Promise<ConversationRecord> {
    const found = [...conversations.values()].find((c) => c.account === accountName && c.wa_id === waId);
    if (found) {
      if (profileName) found.profile_name = profileName.slice(0, 140);
      return found;
    }
    const phone = await python.call<string | null>("phone", { fn: "from_wa_id", value: waId });
    let party: { doctype: string; name: string } | null = null;
    if (phone) {
      const match = await findParty(phone);
      if (match) party = { doctype: match.doctype, name: match.name };
      else {
        // parties.create_party: a Lead for an unknown number, named after the WhatsApp profile.
        const lead: PartyRecord = { doctype: "Lead", name: nextName("CRM-LEAD-2026"), title: profileName || phone, phone };
        parties.set(`Lead/${lead.name}`, lead);
        party = { doctype: "Lead", name: lead.name };
      }
    }
    const c: ConversationRecord = {
      name: nextName("WA-CONV"),
      account: accountName,
      wa_id: waId,
      phone,
      profile_name: (profileName ?? "").slice(0, 140) || null,
      party,
      assigned_to: null,
      unread_count: 0,
      last_message_at: null,
      last_message_preview: null,
      last_inbound_at: null,
      status: "Open",
      creation: now(),
    };
    conversations.set(c.name, c);
    return c;
  }

  function recordLast(c: ConversationRecord, at: number, text: string): void {
    if (c.last_message_at === null || c.last_message_at <= at) {
      c.last_message_at = at;
      c.last_message_preview = text.slice(0, 140);
    }
  }

  function newMessage(c: ConversationRecord, over: Partial<MessageRecord> & Pick<MessageRecord, "direction" | "kind" | "status">): MessageRecord {
    const m: MessageRecord = {
      name: nextName("WA-MSG"),
      seq: ++seq,
      conversation: c.name,
      text: null,
      wamid: null,
      created_at: now(),
      at: {},
      error: null,
      sent_by: null,
      reply_to: null,
      reply_to_wamid: null,
      media: null,
      template: null,
      template_values: null,
      interactive: null,
      reaction: null,
      location: null,
      attempts: 0,
      ...over,
    };
    messages.set(m.name, m);
    return m;
  }

  function storeFile(content: Buffer, fileName: string, mime: string, attachedTo: [string, string] | null): FileRecord {
    const name = randomBytes(5).toString("hex");
    const safe = fileName.replace(/[^\w.\- ]+/g, "_") || "file";
    const file: FileRecord = { name, file_name: safe, file_url: `/private/files/${name}-${encodeURIComponent(safe)}`, content, mime_type: mime, attached_to: attachedTo };
    files.set(file.file_url, file);
    return file;
  }

  async function seedConversation(s: SeedConversation): Promise<string> {
    const c = await conversationForCustomer(account.name, s.wa_id, s.profile_name);
    if (s.party) c.party = s.party;
    c.assigned_to = s.assigned_to ?? null;
    for (const h of s.history) {
      const at = Date.now() - h.minutesAgo * 60_000;
      const m = newMessage(c, {
        direction: h.direction,
        kind: h.kind ?? (h.file ? "image" : "text"),
        status: h.status ?? (h.direction === "inbound" ? "read" : "read"),
        text: h.text ?? null,
        wamid: `wamid.seed${randomBytes(8).toString("hex")}`,
        created_at: at,
        sent_by: h.direction === "outbound" ? COLLEAGUE : null,
      });
      if (h.direction === "outbound") m.at = { sent: at + 1000, delivered: at + 2000, read: m.status === "read" ? at + 60_000 : undefined };
      if (h.file) {
        const f = storeFile(h.file.data, h.file.filename, h.file.mime_type, ["WhatsApp Message", m.name]);
        m.media = { id: `seed-${m.name}`, url: f.file_url, mime_type: h.file.mime_type, filename: h.file.filename, size: h.file.data.length, state: "downloaded", sha256: null };
      }
      if (h.direction === "inbound" && (c.last_inbound_at === null || c.last_inbound_at < at)) c.last_inbound_at = at;
      recordLast(c, at, preview(m));
    }
    c.unread_count = s.unread_count ?? 0;
    if (c.unread_count) {
      for (const m of fake.messages(c.name).filter((x) => x.direction === "inbound").slice(-c.unread_count)) m.status = "received";
    }
    return c.name;
  }

  // --- templates (template_sync.py, template_views.py) --------------------------------------------

  async function syncTemplates(): Promise<void> {
    const rows = await python.call<{ row: Record<string, unknown>; summary: TemplateRecord["summary"]; parameters: (TemplateRecord["parameters"][number] & { __type__?: string })[] }[]>("templates", {
      waba_id: graph.waba_id,
    });
    for (const { row, summary, parameters } of rows) {
      const name = `${String(row.name)}-${String(row.language)}-${graph.waba_id}`.slice(0, 140);
      templates.set(name, {
        name,
        template_name: String(row.name),
        language: String(row.language),
        category: (row.category as string) ?? null,
        status: String(row.status ?? ""),
        waba_id: graph.waba_id,
        components: (row.components as unknown[]) ?? [],
        summary,
        parameters: parameters.map(({ component, index, kind, example }) => ({ component, index, kind, example })),
      });
    }
  }

  function templateView(t: TemplateRecord): Record<string, unknown> {
    return {
      name: t.name,
      template_name: t.template_name,
      language: t.language,
      category: t.category,
      status: t.status,
      header: t.summary.header ? { format: t.summary.header.format, text: t.summary.header.text ?? null } : null,
      body: t.summary.body,
      footer: t.summary.footer,
      buttons: t.summary.buttons,
      parameters: t.parameters,
    };
  }

  // --- sending (integrations/whatsapp/outbound.py) --------------------------------------------

  function fileAt(url: unknown): FileRecord {
    const f = files.get(String(url ?? ""));
    if (!f) throw new FrappeError(404, "DoesNotExistError", `File ${String(url)} not found`);
    return f;
  }

  async function mediaValues(fileUrl: unknown): Promise<Partial<MessageRecord>> {
    if (!fileUrl) throwValidation("Attach a file to send.");
    const f = fileAt(fileUrl);
    const { kind, limit } = await python.call<{ kind: string | null; limit: number | null }>("media_kind", { mime_type: f.mime_type });
    if (!kind) throwValidation(`WhatsApp does not accept ${f.mime_type || "these"} files.`);
    if (f.content.length > (limit ?? 0)) {
      throwValidation(`The file is ${(f.content.length / 1e6).toFixed(1)} MB; WhatsApp accepts ${kind} files up to ${((limit ?? 0) / 1e6).toFixed(1)} MB.`);
    }
    return { kind: kind as string, media: { id: null, url: f.file_url, mime_type: f.mime_type, filename: f.file_name, size: f.content.length, state: "pending", sha256: null } };
  }

  async function queueMessage(c: ConversationRecord, args: Record<string, unknown>, user: string): Promise<MessageRecord> {
    const kind = String(args.kind ?? "text");
    if (!["text", "media", "template", "buttons", "list", "call_permission_request"].includes(kind)) throwValidation(`Unknown message kind ${kind}.`);
    if (kind !== "template" && !(c.last_inbound_at !== null && c.last_inbound_at + DAY > Date.now())) {
      throwValidation("More than 24 hours have passed since the customer last wrote: only a template can be sent until they write again.", "Service window closed");
    }
    const over: Partial<MessageRecord> = { sent_by: user };
    if (args.reply_to) {
      const target = messages.get(String(args.reply_to));
      if (!target || target.conversation !== c.name || !target.wamid) throwValidation("The message you reply to is not in this conversation or was never delivered.");
      over.reply_to = target!.name;
      over.reply_to_wamid = target!.wamid;
    }
    const text = typeof args.text === "string" ? args.text.trim() : "";
    if (kind === "text") {
      if (!text) throwValidation("Type a message.");
      Object.assign(over, { kind: "text", text });
    } else if (kind === "media") {
      Object.assign(over, await mediaValues(args.file_url), { text: text || null });
    } else if (kind === "template") {
      const t = templates.get(String(args.template ?? ""));
      if (!t) throwValidation("Choose a template.");
      if (t!.status.toUpperCase() !== "APPROVED") throwValidation(`Template ${t!.template_name} is ${t!.status.toLowerCase()} at Meta: only approved templates can be sent.`);
      const checked = await python.call<{ values?: Record<string, Record<string, string>>; invalid?: string }>("check_values", { components: t!.components, values: args.template_values ?? {} });
      if (checked.invalid) throwValidation(checked.invalid, "Template values");
      const rendered = await python.call<{ text: string }>("render", { components: t!.components, values: checked.values });
      Object.assign(over, { kind: "template", template: t!.name, template_values: checked.values, text: rendered.text });
      const media = checked.values?.header?.media;
      if (media) Object.assign(over, { media: (await mediaValues(media)).media, kind: "template" });
    } else if (kind === "buttons" || kind === "list") {
      if (!text) throwValidation("Type the question the options answer.");
      const options = (Array.isArray(args.options) ? args.options : []).map((o: Record<string, unknown>, i: number) => ({
        id: String(o.id ?? i + 1).slice(0, 200),
        title: String(o.title ?? "").trim(),
        ...(o.description ? { description: String(o.description).slice(0, 72) } : {}),
      }));
      if (kind === "list" && !(typeof args.list_button === "string" && args.list_button.trim())) throwValidation("Name the button that opens the list.");
      const check = await python.call<{ invalid?: string }>("check_interactive", { kind, text, options, list_button: args.list_button });
      if (check.invalid) throwValidation(check.invalid, "Options");
      Object.assign(over, { kind: "interactive", text, interactive: { options, chosen: null, ...(kind === "list" ? { list_button: String(args.list_button) } : {}) } });
    } else {
      Object.assign(over, { kind: "call_permission_request", text: text || null });
    }
    const m = newMessage(c, { direction: "outbound", status: "queued", kind: over.kind as string, ...over });
    recordLast(c, m.created_at, preview(m));
    publish("message", c, m);
    setImmediate(() => void sendJob(m.name));
    return m;
  }

  async function sendJob(name: string): Promise<void> {
    const m = messages.get(name);
    if (!m || !["queued", "sending"].includes(m.status) || m.wamid) return;
    const c = conversations.get(m.conversation) as ConversationRecord;
    m.status = "sending";
    m.attempts += 1;
    const spec: Record<string, unknown> = { kind: m.kind, text: m.text };
    if (m.kind === "text") spec.text = m.text;
    if (MEDIA_KINDS.includes(m.kind)) {
      spec.caption = ["image", "video", "document"].includes(m.kind) ? (m.text ?? undefined) : undefined;
      spec.filename = m.kind === "document" ? m.media?.filename : undefined;
    }
    if (m.kind === "template") {
      const t = templates.get(m.template as string) as TemplateRecord;
      Object.assign(spec, { name: t.template_name, language: t.language, components: t.components, values: m.template_values ?? {} });
    }
    if (m.kind === "interactive") {
      Object.assign(spec, { kind: m.interactive?.list_button ? "list" : "buttons", options: m.interactive?.options, list_button: m.interactive?.list_button });
    }
    if (m.media?.url && !m.media.id) {
      const f = fileAt(m.media.url);
      spec.upload = { data: f.content.toString("base64"), mime_type: f.mime_type, filename: f.file_name };
    } else if (m.media?.id) {
      spec[m.kind === "template" ? "header_media_id" : "media_id"] = m.media.id;
    }
    const result = await python.call<{ wamid?: string; media_id?: string | null; graph_error?: GraphErrorInfo; invalid?: string }>("send", {
      to: c.wa_id,
      message: spec,
      reply_to: m.reply_to_wamid,
      callback: m.name,
    });
    if (result.media_id && m.media) Object.assign(m.media, { id: result.media_id, state: "uploaded" });
    if (result.wamid) {
      m.wamid = result.wamid;
      m.error = null;
      await applyDelivery(m, "sent", Date.now());
      for (const status of pendingStatuses.get(m.wamid) ?? []) await applyStatusItem(status as StatusItem);
      pendingStatuses.delete(m.wamid);
      publish("status", c, m);
      return;
    }
    if (result.invalid) {
      finish(m, "failed", { code: null, title: "", message: result.invalid, details: null });
      return;
    }
    const e = result.graph_error as GraphErrorInfo;
    const error = { code: e.code, title: e.title, message: e.user_message, details: e.details };
    if ((e.retryable || e.maybe_delivered) && m.attempts < 8) {
      finish(m, "queued", error);
      setTimeout(() => void sendJob(m.name), fake.retryDelayMs);
      return;
    }
    finish(m, "failed", error);
  }

  function finish(m: MessageRecord, status: string, error: MessageRecord["error"]): void {
    if (!["queued", "sending"].includes(m.status)) return; // a status webhook got there first
    m.status = status;
    m.error = error;
    if (status === "failed") m.at.failed ??= Date.now();
    publish("status", conversations.get(m.conversation) as ConversationRecord, m);
  }

  // --- statuses (integrations/whatsapp/statuses.py) ---------------------------------------------

  interface StatusItem {
    wamid: string;
    status: string;
    timestamp: string;
    biz_opaque_callback_data: string | null;
    errors: { code: number | null; title: string | null; message: string | null; details: string | null }[];
  }

  async function applyDelivery(m: MessageRecord, status: string, at: number, error?: MessageRecord["error"]): Promise<boolean> {
    let changed = false;
    const key = status === "played" ? "read" : status;
    if (key === "sent" || key === "delivered" || key === "read" || key === "failed") {
      if (m.at[key] === undefined) {
        m.at[key] = at;
        changed = true;
      }
    }
    const current = m.status === "sending" ? "queued" : m.status;
    const next = await python.call<string>("apply_status", { current, incoming: status });
    const value = next === "played" ? "read" : next;
    if (["queued", "sent", "delivered", "read", "failed"].includes(value) && value !== m.status) {
      m.status = value;
      changed = true;
    }
    if (status === "failed" && error && m.status === "failed") {
      m.error = error;
      changed = true;
    }
    return changed;
  }

  async function applyStatusItem(s: StatusItem): Promise<void> {
    let m = [...messages.values()].find((x) => x.wamid === s.wamid);
    if (!m && s.biz_opaque_callback_data) {
      const byName = messages.get(s.biz_opaque_callback_data);
      if (byName?.direction === "outbound") m = byName;
    }
    if (!m) {
      const list = pendingStatuses.get(s.wamid) ?? [];
      list.push(s);
      pendingStatuses.set(s.wamid, list);
      return;
    }
    m.wamid ??= s.wamid;
    let error: MessageRecord["error"] | undefined;
    const first = s.errors[0];
    if (first) {
      const info = await python.call<{ message: string; title: string }>("describe", { code: first.code, title: first.title });
      error = { code: first.code, title: first.title || info.title, message: info.message, details: first.details || first.message };
    }
    if (await applyDelivery(m, s.status, Date.parse(s.timestamp), error)) publish("status", conversations.get(m.conversation) as ConversationRecord, m);
  }

  // --- inbound (integrations/whatsapp/inbound.py, media.py) --------------------------------------

  interface Parsed {
    __type__: string;
    [k: string]: unknown;
  }

  function content(message: Parsed): Partial<MessageRecord> {
    const body = message.body as Parsed;
    switch (body.__type__) {
      case "TextBody":
        return { kind: "text", text: body.text as string };
      case "MediaBody": {
        const mime = body.mime_type as { essence: string } | null;
        return {
          kind: body.kind as string,
          text: (body.caption as string) ?? null,
          media: { id: body.media_id as string, url: null, mime_type: mime?.essence ?? (body.mime_type_raw as string | null), filename: (body.filename as string) ?? null, size: null, state: "pending", sha256: (body.sha256 as string) ?? null },
        };
      }
      case "ReactionBody":
        return { kind: "reaction", reaction: { to: body.message_id as string, emoji: (body.emoji as string) ?? null }, text: (body.emoji as string) || "(reaction removed)" };
      case "InteractiveReplyBody":
        return { kind: "interactive", text: (body.title as string) ?? null, interactive: { options: [], chosen: body.reply_id as string } };
      case "TemplateButtonBody":
        return { kind: "button", text: (body.text as string) ?? null, interactive: { options: [], chosen: (body.payload as string) ?? null } };
      case "LocationBody": {
        const { latitude, longitude } = body as unknown as { latitude: number; longitude: number };
        const name = (body.name as string) ?? null;
        const address = (body.address as string) ?? null;
        return { kind: "location", location: { latitude, longitude, name, address }, text: name || address || `${latitude.toFixed(5)}, ${longitude.toFixed(5)}` };
      }
      case "SystemBody":
        return { kind: "system", text: (body.body as string) ?? null };
      case "UnsupportedBody":
        return { kind: "unsupported", text: "The customer sent something WhatsApp does not pass on to businesses." };
      default:
        return { kind: "unknown", text: `A ${String(message.type)} message this version cannot show (kept as received).` };
    }
  }

  async function applyInbound(accountName: string, change: Parsed, message: Parsed): Promise<void> {
    const waId = (message.from_wa_id as string) ?? (message.from_user_id as string);
    if ([...messages.values()].some((m) => m.wamid === message.wamid)) return; // Meta redelivered it
    const contact = (change.contacts as Parsed[]).find((x) => x.wa_id === waId || (message.from_user_id && x.user_id === message.from_user_id));
    const c = await conversationForCustomer(accountName, waId, (contact?.profile_name as string) ?? null);
    const receivedAt = Date.parse(message.timestamp as string);
    const context = message.context as Parsed | null;
    const over: Partial<MessageRecord> = { wamid: message.wamid as string, created_at: receivedAt, ...content(message) };
    if (context?.message_id) {
      over.reply_to_wamid = context.message_id as string;
      over.reply_to = [...messages.values()].find((m) => m.wamid === context.message_id)?.name ?? null;
    }
    const m = newMessage(c, { direction: "inbound", status: "received", kind: over.kind as string, ...over });
    c.unread_count += 1;
    c.status = "Open";
    recordLast(c, receivedAt, preview(m));
    if (c.last_inbound_at === null || c.last_inbound_at < receivedAt) c.last_inbound_at = receivedAt;
    publish("message", c, m);
    if (m.media?.id) setImmediate(() => void downloadMedia(m.name));
  }

  async function downloadMedia(name: string): Promise<void> {
    const m = messages.get(name);
    if (!m?.media?.id) return;
    const { kind, limit } = await python.call<{ kind: string | null; limit: number | null }>("media_kind", { mime_type: m.media.mime_type ?? "" });
    const max = Math.min(100 * 1024 * 1024, kind ? (limit as number) : Infinity);
    const r = await python.call<{ data?: string; size?: number; too_large?: number; rejected?: string; graph_error?: GraphErrorInfo }>("download", { media_id: m.media.id, limit: max });
    const c = conversations.get(m.conversation) as ConversationRecord;
    if (r.too_large !== undefined) Object.assign(m.media, { state: "too_large", size: r.too_large });
    else if (r.rejected) Object.assign(m.media, { state: r.rejected.toLowerCase().includes("large") ? "too_large" : "failed" });
    else if (r.graph_error) Object.assign(m.media, { state: "failed" });
    else {
      const data = Buffer.from(r.data as string, "base64");
      const digest = createHash("sha256").update(data).digest();
      const announced = (m.media.sha256 ?? "").trim();
      if (announced && announced.toLowerCase() !== digest.toString("hex") && announced !== digest.toString("base64")) {
        Object.assign(m.media, { state: "failed" });
        m.error = { code: null, title: "", message: "The file's checksum does not match what WhatsApp announced.", details: null };
      } else {
        const f = storeFile(data, m.media.filename ?? `whatsapp-${m.name}${extname(m.media.mime_type ?? "") || ""}`, m.media.mime_type ?? "application/octet-stream", ["WhatsApp Message", m.name]);
        Object.assign(m.media, { state: "downloaded", url: f.file_url, size: data.length });
      }
    }
    publish("status", c, m);
  }

  // Webhook events are processed one at a time, in arrival order (the real site: a background job).
  let webhookQueue: Promise<void> = Promise.resolve();
  function processWebhook(body: Buffer): void {
    webhookQueue = webhookQueue.then(async () => {
      try {
        const parsed = await python.call<{ changes: { field: string; change: Parsed | null }[] }>("parse", { body: body.toString("base64") });
        for (const { field, change } of parsed.changes) {
          if (field !== "messages" || !change) continue;
          const acc = [...accounts.values()].find((a) => a.phone_number_id === change.phone_number_id);
          if (!acc) continue;
          for (const message of change.messages as Parsed[]) await applyInbound(acc.name, change, message);
          for (const status of change.statuses as StatusItem[]) await applyStatusItem(status);
        }
      } catch (error) {
        webhookErrors.push(`processing: ${(error as Error).message}`);
      }
    });
  }

  // --- endpoints (voice_agent/api/whatsapp.py) ----------------------------------------------------

  function json(value: unknown, what: string): unknown {
    // frappe.call form-encodes a dict or list argument as JSON text (frappe.request.prepare); the
    // endpoint must parse it (frappe.parse_json) before use.
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch {
      return throwValidation(`${what} is not valid JSON.`);
    }
  }

  const int = (value: unknown, fallback: number): number => {
    const n = Number.parseInt(String(value ?? ""), 10);
    return Number.isFinite(n) ? n : fallback;
  };

  async function partyPhone(party: PartyRecord): Promise<string | null> {
    return e164(party.phone);
  }

  function partyFor(doctype: unknown, name: unknown): PartyRecord {
    const p = parties.get(`${String(doctype)}/${String(name)}`);
    if (!p) throw new FrappeError(404, "DoesNotExistError", `${String(doctype)} ${String(name)} not found`);
    return p;
  }

  const endpoints: Record<string, (args: Record<string, unknown>, user: string) => Promise<unknown>> = {
    async get_party_conversations(args, user) {
      const party = partyFor(args.party_doctype, args.party_name);
      const phone = await partyPhone(party);
      const list = [...conversations.values()].filter((c) => (c.party?.doctype === party.doctype && c.party.name === party.name) || (phone !== null && c.phone === phone));
      list.sort((a, b) => (b.last_message_at ?? b.creation) - (a.last_message_at ?? a.creation));
      const messages = int(args.messages, 0);
      return {
        conversations: list.map(conversationView),
        accounts: [...accounts.values()].filter((a) => isManager(user) || a.members.includes(user)).map((a) => ({ name: a.name, title: a.title })),
        phone,
        ...(messages > 0 && list[0] ? { latest_page: await endpoints.get_messages!({ conversation: list[0].name, limit: messages }, user) } : {}),
      };
    },
    async start_conversation(args, user) {
      const party = partyFor(args.party_doctype, args.party_name);
      const acc = accounts.get(String(args.account));
      if (!acc) throwValidation(`WhatsApp Account ${String(args.account)} does not exist or is disabled.`);
      if (!isManager(user) && !acc!.members.includes(user)) throw new FrappeError(403, "PermissionError", `You are not in the team of ${acc!.name}.`);
      const phone = await partyPhone(party);
      if (!phone) throwValidation(`${party.doctype} ${party.name} has no phone number WhatsApp can reach.`);
      const waId = await python.call<string>("phone", { fn: "to_wa_id", value: phone });
      const c = await conversationForCustomer(acc!.name, waId, party.title);
      if (!c.party) c.party = { doctype: party.doctype, name: party.name };
      return conversationView(c);
    },
    async get_messages(args, user) {
      const c = conversationFor(args.conversation, user);
      const limit = Math.max(1, Math.min(int(args.limit, 50) || 50, 200));
      let list = fake.messages(c.name).reverse(); // newest first: (creation, name) descending
      if (args.before) {
        const at = list.findIndex((m) => m.name === args.before);
        if (at < 0) throwValidation(`Message ${String(args.before)} is not in this conversation.`);
        list = list.slice(at + 1);
      }
      return { conversation: conversationView(c), messages: list.slice(0, limit).map(messageView), has_more: list.length > limit };
    },
    async get_inbox(args, user) {
      const filter = String(args.filter ?? "all");
      if (!["all", "unread", "mine", "unassigned"].includes(filter)) throwValidation(`Unknown inbox filter ${filter}.`);
      const search = typeof args.search === "string" ? args.search.trim().slice(0, 100).toLowerCase() : "";
      const visible = [...conversations.values()].filter((c) => maySee(c, user));
      const list = visible
        .filter((c) => !args.account || c.account === args.account)
        .filter((c) => filter !== "unread" || c.unread_count > 0)
        .filter((c) => filter !== "mine" || c.assigned_to === user)
        .filter((c) => filter !== "unassigned" || !c.assigned_to)
        .filter((c) => !search || [c.profile_name, c.wa_id, c.phone, partyTitle(c.party), c.last_message_preview].some((f) => typeof f === "string" && f.toLowerCase().includes(search)))
        .sort((a, b) => (b.last_message_at ?? 0) - (a.last_message_at ?? 0) || (a.name < b.name ? 1 : -1));
      const start = Math.max(0, int(args.start, 0));
      const limit = Math.max(1, Math.min(int(args.limit, 50) || 50, 200));
      return {
        conversations: list.slice(start, start + limit).map(conversationView),
        has_more: list.length > start + limit,
        counts: {
          unread: visible.filter((c) => c.unread_count > 0).length,
          mine: visible.filter((c) => c.assigned_to === user).length,
          unassigned: visible.filter((c) => !c.assigned_to).length,
        },
        accounts: [...accounts.values()].filter((a) => a.members.includes(user)).map((a) => ({ name: a.name, title: a.title })),
      };
    },
    async send_message(args, user) {
      const c = conversationFor(args.conversation, user);
      const parsed = { ...args, template_values: json(args.template_values, "template_values"), options: json(args.options, "options") };
      return messageView(await queueMessage(c, parsed, user));
    },
    async mark_read(args, user) {
      const c = conversationFor(args.conversation, user);
      if (!c.unread_count) return conversationView(c);
      c.unread_count = 0;
      const inbound = fake.messages(c.name).filter((m) => m.direction === "inbound");
      for (const m of inbound) if (m.status === "received") m.status = "read";
      const last = inbound[inbound.length - 1];
      if (last?.wamid) void python.call("mark_read", { wamid: last.wamid });
      publish("conversation", c);
      return conversationView(c);
    },
    async typing(args, user) {
      const c = conversationFor(args.conversation, user);
      const last = fake.messages(c.name).filter((m) => m.direction === "inbound").pop();
      if (last?.wamid && c.last_inbound_at !== null && c.last_inbound_at + DAY > Date.now()) void python.call("mark_read", { wamid: last.wamid, typing: true });
      return { sent: Boolean(last) };
    },
    async assign_conversation(args, user) {
      const c = conversationFor(args.conversation, user);
      const to = args.user ? String(args.user) : null;
      if (to && !users.get(to)?.enabled) throwValidation(`User ${to} does not exist or is disabled.`);
      if (to && !(isManager(to) || teamAccounts(to).includes(c.account))) throwValidation(`${to} is not in the team of ${c.account}.`);
      if (c.assigned_to === to) return conversationView(c);
      c.assigned_to = to;
      publish("conversation", c);
      return conversationView(c);
    },
    async link_party(args, user) {
      const c = conversationFor(args.conversation, user);
      const doctype = String(args.party_doctype);
      if (!PARTY_ORDER.includes(doctype)) throwValidation(`A conversation can be linked to ${PARTY_ORDER.join(", ")} only.`);
      if (!parties.has(`${doctype}/${String(args.party_name)}`)) throwValidation(`${doctype} ${String(args.party_name)} does not exist.`);
      c.party = { doctype, name: String(args.party_name) };
      publish("conversation", c);
      return conversationView(c);
    },
    async get_templates(args, user) {
      const c = conversationFor(args.conversation, user);
      const waba = accounts.get(c.account)?.waba_id;
      return [...templates.values()]
        .filter((t) => t.waba_id === waba && t.status === "APPROVED")
        .sort((a, b) => a.template_name.localeCompare(b.template_name) || a.language.localeCompare(b.language))
        .map(templateView);
    },
    async preview_template(args) {
      const t = templates.get(String(args.template));
      if (!t) throw new FrappeError(404, "DoesNotExistError", `WhatsApp Template ${String(args.template)} does not exist.`);
      return python.call("render", { components: t.components, values: json(args.values, "values") ?? {} });
    },
  };

  // --- WhatsApp calls (integrations/whatsapp/calls.py, api/whatsapp_calls.py) ---------------------

  interface CallRecord {
    name: string;
    direction: "Inbound" | "Outbound";
    conversation: string;
    state: "ringing" | "connecting" | "ended" | "missed";
    end_reason: string | null;
    agent: string | null;
    rung: string[];
    declined: string[];
    started_at: number;
    ring_seconds: number;
  }

  interface PermissionRecord {
    status: "No permission" | "Temporary" | "Permanent" | null;
    expires_at: number | null;
    checked_at: number | null;
    requested_at: number | null;
    answer: "Accepted" | "Declined" | null;
    answered_at: number | null;
  }

  const FULL_NAMES: Record<string, string> = { [USER]: "Alex Agent", [COLLEAGUE]: "Casey Colleague" };
  const fullName = (user: string): string => FULL_NAMES[user] ?? user;
  const voiceCalls = new Map<string, CallRecord>();
  const permissions = new Map<string, PermissionRecord>();
  let callSeq = 0;

  /** A realtime event to some users, checked against contracts/frappe-api.schema.json first. */
  function publishTo(users: Iterable<string>, event: string, definition: string, payload: unknown): void {
    try {
      frappeApi.check("frappe-api.schema.json", definition, payload, event);
    } catch (error) {
      contractErrors.push((error as Error).message);
      return;
    }
    const audience = new Set(users);
    const data = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    setImmediate(() => {
      for (const client of clients.values()) if (audience.has(client.user)) client.res.write(data);
    });
  }

  function incomingPayload(call: CallRecord): Record<string, unknown> {
    const c = conversations.get(call.conversation) as ConversationRecord;
    const acc = accounts.get(c.account) as AccountRecord;
    return {
      call: call.name,
      account: acc.name,
      account_title: acc.title,
      conversation: c.name,
      wa_id: c.wa_id,
      phone: c.phone,
      caller_name: c.profile_name || partyTitle(c.party) || c.phone || c.wa_id,
      party: c.party ? { doctype: c.party.doctype, name: c.party.name, title: partyTitle(c.party) } : null,
      last_messages: fake.messages(c.name).slice(-5).map((m) => ({ direction: m.direction, kind: m.kind, text: m.text, at: iso(m.created_at) })),
      started_at: iso(call.started_at),
      ring_deadline: iso(call.started_at + call.ring_seconds * 1000),
    };
  }

  function permissionOf(c: ConversationRecord): PermissionRecord {
    let p = permissions.get(c.name);
    if (!p) permissions.set(c.name, (p = { status: null, expires_at: null, checked_at: null, requested_at: null, answer: null, answered_at: null }));
    return p;
  }

  /** calls.permission_view: as stored; with Graph's figures when `read` (Graph's answer just read). */
  function permissionView(c: ConversationRecord, read: boolean): Record<string, unknown> {
    const p = permissionOf(c);
    const granted = p.status === "Permanent" || (p.status === "Temporary" && (p.expires_at ?? 0) > Date.now());
    const limit = (max: number, used: number) => ({ time_period: "PT24H", max_allowed: max, current_usage: used, remaining: max - used, limit_expiration_time: null });
    const requestsUsed = p.requested_at !== null && p.requested_at > Date.now() - DAY ? 1 : 0;
    return {
      conversation: c.name,
      account: c.account,
      wa_id: c.wa_id,
      calling_enabled: true,
      window_open: c.last_inbound_at !== null && c.last_inbound_at + DAY > Date.now(),
      status: p.status,
      expires_at: p.status === "Temporary" ? iso(p.expires_at) : null,
      checked_at: iso(p.checked_at),
      requested_at: iso(p.requested_at),
      answer: p.answer,
      answered_at: iso(p.answered_at),
      can_call: read ? granted : null,
      can_request: read ? !granted && requestsUsed === 0 : null,
      calls_remaining: read && granted ? 100 : null,
      requests_remaining: read ? 1 - requestsUsed : null,
      next_call_at: null,
      next_request_at: read && requestsUsed ? iso((p.requested_at as number) + DAY) : null,
      limits: read
        ? { start_call: granted ? [limit(100, 0)] : [], send_call_permission_request: [limit(1, requestsUsed)] }
        : { start_call: [], send_call_permission_request: [] },
    };
  }

  function readPermission(c: ConversationRecord): Record<string, unknown> {
    const p = permissionOf(c);
    if (p.status === null) p.status = "No permission";
    p.checked_at = now();
    return permissionView(c, true);
  }

  function offeredCall(name: unknown, user: string): CallRecord {
    const call = voiceCalls.get(String(name));
    if (!call || call.direction !== "Inbound") throw new FrappeError(404, "DoesNotExistError", `There is no incoming WhatsApp call ${String(name)}.`);
    const c = conversations.get(call.conversation) as ConversationRecord;
    if (!(isManager(user) || teamAccounts(user).includes(c.account) || call.rung.includes(user))) {
      throw new FrappeError(403, "PermissionError", "This call rings for the team of another WhatsApp number.");
    }
    return call;
  }

  function endCall(call: CallRecord, state: "missed" | "ended", reason: string): void {
    call.state = state;
    call.end_reason = reason;
    publishTo(call.rung, "whatsapp_call_ended", "WhatsAppCallEnded", { call: call.name, state, end_reason: reason, answered_by: call.agent });
  }

  async function recordConversation(doctype: unknown, name: unknown, account: unknown, user: string): Promise<ConversationRecord> {
    const party = partyFor(doctype, name);
    const acc = accounts.get(String(account || [...accounts.keys()][0]));
    if (!acc || !(isManager(user) || acc.members.includes(user))) throwValidation("No WhatsApp number with calling on is available to you.", "WhatsApp calling");
    const phone = await partyPhone(party);
    if (!phone) throwValidation(`${party.doctype} ${party.name} has no phone number WhatsApp can reach.`);
    const waId = await python.call<string>("phone", { fn: "to_wa_id", value: phone });
    const c = await conversationForCustomer(acc!.name, waId, party.title);
    if (!c.party) c.party = { doctype: party.doctype, name: party.name };
    return c;
  }

  type Endpoint = (args: Record<string, unknown>, user: string) => Promise<unknown>;

  function requirePost(req: IncomingMessage): void {
    if (req.method !== "POST") throw new FrappeError(405, "ValidationError", "POST only");
    if (req.headers["x-frappe-csrf-token"] !== CSRF_TOKEN) throw new FrappeError(400, "CSRFTokenError", "Invalid Request");
  }

  /** A whitelisted method as Frappe runs it: POST with the CSRF token, recorded, its answer checked against the contract. */
  async function dispatch(req: IncomingMessage, res: ServerResponse, method: string, endpoint: Endpoint | undefined, check: (answer: unknown) => void): Promise<void> {
    requirePost(req);
    if (!endpoint) throw new FrappeError(404, "DoesNotExistError", `Failed to get method for command ${method.replace(/^whatsapp_calls\./, "")}`);
    const args = await readArgs(req);
    const call: RecordedCall = { method, args, status: 200 };
    calls.push(call);
    let answer: unknown;
    try {
      answer = await endpoint(args, userOf(req));
    } catch (error) {
      call.status = error instanceof FrappeError ? error.status : 500;
      throw error;
    }
    try {
      check(answer);
    } catch (error) {
      contractErrors.push((error as Error).message);
      throw new FrappeError(500, "ContractError", (error as Error).message);
    }
    return send(res, 200, "application/json", JSON.stringify({ message: answer }));
  }

  /** voice_agent.api.calls.end_call for a WhatsApp call: the desk hangs up. */
  const endCallEndpoint: Endpoint = async (args, user) => {
    const call = voiceCalls.get(String(args.call));
    if (!call || call.agent !== user) throw new FrappeError(403, "PermissionError", "Not permitted");
    const reason = String(args.reason || "hangup");
    if (call.state !== "ended") {
      await calling!.endRoom(call.name, reason);
      endCall(call, "ended", reason);
    }
    return { call: call.name, state: call.state, end_reason: call.end_reason };
  };

  /** voice_agent.api.calls.join_as_supervisor (service.supervise): a manager listens in (or talks) on a live call. */
  const superviseEndpoint: Endpoint = async (args, user) => {
    if (!isManager(user)) throw new FrappeError(403, "PermissionError", "Only a Voice Agent Manager can join other agents' calls.");
    const call = voiceCalls.get(String(args.call));
    if (!call) throw new FrappeError(404, "DoesNotExistError", `Voice Call ${String(args.call)} does not exist.`);
    if (call.state === "ended" || call.state === "missed") throwValidation(`Voice Call ${call.name} is ${call.state}.`);
    const listenOnly = args.listen_only !== false && args.listen_only !== 0 && args.listen_only !== "0" && args.listen_only !== "false";
    return calling!.joinAnswer(call.name, user, { listenOnly });
  };

  /** The Voice Call as voice_call_update carries it (VoiceCall.realtime_payload). */
  function voiceCallUpdate(call: CallRecord, event: string): Record<string, unknown> {
    const c = conversations.get(call.conversation) as ConversationRecord;
    const endedAt = call.state === "ended" || call.state === "missed" ? now() : null;
    const seconds = ((endedAt ?? now()) - call.started_at) / 1000;
    return {
      call: call.name,
      channel: "WhatsApp",
      direction: call.direction,
      whatsapp: {
        call_id: null, account: c.account, conversation: c.name, status: call.state === "ended" ? "COMPLETED" : null,
        accepted_at: null, error_code: null, start_time: null, end_time: null, duration: null,
      },
      state: call.state,
      end_reason: call.end_reason,
      reference_doctype: c.party?.doctype ?? null,
      reference_name: c.party?.name ?? null,
      agent: call.agent,
      started_at: iso(call.started_at),
      connected_at: null,
      ended_at: iso(endedAt),
      ring_duration: 0,
      talk_duration: 0,
      total_duration: seconds,
      quality: { packet_loss_pct: 0, jitter_ms: 0, rtt_ms: null, bitrate_kbps: 0, mos: null, label: null },
      participants: [],
      event,
    };
  }

  const callEndpoints: Record<string, (args: Record<string, unknown>, user: string) => Promise<unknown>> = {
    async get_incoming_whatsapp_calls(_args, user) {
      const ringing = [...voiceCalls.values()].filter((c) => c.direction === "Inbound" && c.state === "ringing" && !c.agent && c.rung.includes(user) && !c.declined.includes(user));
      return { calls: ringing.map(incomingPayload) };
    },
    async accept_whatsapp_call(args, user) {
      const call = offeredCall(args.call, user);
      if (call.agent && call.agent !== user) throw new FrappeError(409, "CallTaken", `This call was answered by ${fullName(call.agent)}.`, "Call taken");
      if (call.state !== "ringing" && call.agent !== user) throw new FrappeError(409, "CallTaken", `This call has ended (${call.state}).`, "Call over");
      call.agent = user;
      call.state = "connecting";
      publishTo(call.rung, "whatsapp_call_answered", "WhatsAppCallAnswered", { call: call.name, answered_by: user, answered_by_name: fullName(user) });
      return calling!.joinAnswer(call.name, user);
    },
    async decline_whatsapp_call(args, user) {
      const call = offeredCall(args.call, user);
      if (!call.declined.includes(user)) call.declined.push(user);
      if (call.state === "ringing" && !call.agent && call.rung.every((u) => call.declined.includes(u))) endCall(call, "missed", "rejected");
      return { call: call.name, state: call.state, end_reason: call.end_reason, declined_by: [...call.declined].sort() };
    },
    async get_call_permission(args, user) {
      const c = args.conversation ? conversationFor(args.conversation, user) : await recordConversation(args.reference_doctype, args.reference_name, args.account, user);
      return readPermission(c);
    },
    async request_call_permission(args, user) {
      const c = conversationFor(args.conversation, user);
      if (!(c.last_inbound_at !== null && c.last_inbound_at + DAY > Date.now())) {
        throwValidation("A permission request can only be sent within 24 hours of the customer's last message. Send a template to reopen the conversation first.", "Service window closed");
      }
      const read = readPermission(c);
      if (read.can_call) throwValidation("The customer already allows calls.", "Permission given");
      if (!read.can_request) throwValidation("WhatsApp's limit of permission requests to this customer is reached.", "Request limit reached");
      const message = await queueMessage(c, { kind: "call_permission_request" }, user);
      permissionOf(c).requested_at = now();
      return { message: messageView(message), permission: permissionView(c, true) };
    },
    async start_whatsapp_call(args, user) {
      const c = await recordConversation(args.reference_doctype, args.reference_name, args.account, user);
      if (!readPermission(c).can_call) {
        throw new FrappeError(409, "PermissionNeeded", `${partyTitle(c.party) ?? c.wa_id} has not allowed WhatsApp calls from this business. Ask for permission first.`, "Permission needed");
      }
      const name = `VC-2026-${String(++callSeq).padStart(5, "0")}`;
      voiceCalls.set(name, { name, direction: "Outbound", conversation: c.name, state: "connecting", end_reason: null, agent: user, rung: [], declined: [], started_at: now(), ring_seconds: 0 });
      return calling!.joinAnswer(name, user);
    },
  };

  const CALL_ANSWERS: Record<string, string> = {
    get_incoming_whatsapp_calls: "IncomingWhatsAppCalls",
    accept_whatsapp_call: "JoinAnswer",
    decline_whatsapp_call: "DeclineAnswer",
    get_call_permission: "CallPermission",
    request_call_permission: "PermissionRequestAnswer",
    start_whatsapp_call: "JoinAnswer",
  };

  fake.whatsappCalls = {
    ring(conversation, o = {}) {
      const c = conversations.get(conversation);
      if (!c) throw new Error(`no conversation ${conversation}`);
      const name = `VC-2026-${String(++callSeq).padStart(5, "0")}`;
      // calls.available_users: the team, minus who is on another live call.
      const busy = new Set([...voiceCalls.values()].filter((v) => v.state === "connecting" && v.agent).map((v) => v.agent));
      const rung = (accounts.get(c.account)?.members ?? []).filter((u) => !busy.has(u));
      const call: CallRecord = { name, direction: "Inbound", conversation, state: "ringing", end_reason: null, agent: null, rung, declined: [], started_at: now(), ring_seconds: o.ringSeconds ?? 30 };
      voiceCalls.set(name, call);
      publishTo(rung, "whatsapp_call_incoming", "IncomingWhatsAppCall", incomingPayload(call));
      return name;
    },
    end(name, state, endReason) {
      const call = voiceCalls.get(name);
      if (call) endCall(call, state, endReason);
    },
    async terminate(name) {
      const call = voiceCalls.get(name);
      if (!call?.agent) throw new Error(`${name} is not a call the desk answered`);
      if (call.state === "ended") return;
      call.state = "ended";
      call.end_reason = "remote_hangup";
      publishTo([call.agent], "voice_call_update", "VoiceCallUpdate", voiceCallUpdate(call, "whatsapp.terminated"));
      await calling!.endRoom(call.name, "remote_hangup");
      endCall(call, "ended", "remote_hangup");
    },
    answerPermission(conversation, accepted) {
      const c = conversations.get(conversation) as ConversationRecord;
      const p = permissionOf(c);
      Object.assign(p, accepted ? { status: "Temporary", expires_at: Date.now() + 7 * DAY } : { status: "No permission", expires_at: null });
      Object.assign(p, { answer: accepted ? "Accepted" : "Declined", answered_at: now() });
      publishTo(usersWhoSee(c), "whatsapp_call_permission", "CallPermission", permissionView(c, false));
    },
    state(name) {
      const call = voiceCalls.get(name);
      return call && { state: call.state, agent: call.agent, declined: [...call.declined] };
    },
  };

  // --- HTTP -------------------------------------------------------------------------------------

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof FrappeError ? error : new FrappeError(500, "Exception", (error as Error)?.stack ?? String(error));
      const message = e.title ? { message: e.message, title: e.title, indicator: "red", raise_exception: 1 } : { message: e.message, indicator: "red", raise_exception: 1 };
      if (!res.headersSent) {
        send(res, e.status, "application/json", JSON.stringify({ exception: `frappe.exceptions.${e.excType}: ${e.message}`, exc_type: e.excType, _server_messages: JSON.stringify([JSON.stringify(message)]) }));
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    if (path === `${METHOD}whatsapp_webhook`) {
      const body = await readBody(req);
      const verdict = await python.call<{ ok: boolean; reason?: string }>("verify", { body: body.toString("base64"), header: req.headers["x-hub-signature-256"] ?? null, secrets: [APP_SECRET] });
      if (!verdict.ok) {
        webhookErrors.push(`signature: ${verdict.reason}`);
        throw new FrappeError(401, "AuthenticationError", "Invalid webhook signature");
      }
      processWebhook(body);
      return send(res, 200, "application/json", JSON.stringify({ message: { status: "accepted" } }));
    }
    if (path === "/api/method/voice_agent.api.calls.end_call" && calling) {
      return dispatch(req, res, "calls.end_call", endCallEndpoint, (answer) => frappeApi.check("frappe-api.schema.json", "EndCallAnswer", answer, "end_call"));
    }
    if (path === "/api/method/voice_agent.api.calls.join_as_supervisor" && calling) {
      return dispatch(req, res, "calls.join_as_supervisor", superviseEndpoint, (answer) => frappeApi.check("frappe-api.schema.json", "JoinAnswer", answer, "join_as_supervisor"));
    }
    if (path.startsWith(CALLS_METHOD) && calling) {
      const name = path.slice(CALLS_METHOD.length);
      return dispatch(req, res, `whatsapp_calls.${name}`, callEndpoints[name], (answer) => frappeApi.check("frappe-api.schema.json", CALL_ANSWERS[name] as string, answer, name));
    }
    if (path === "/api/method/upload_file") {
      requirePost(req);
      return uploadFile(req, res);
    }
    if (path.startsWith(METHOD)) {
      const name = path.slice(METHOD.length);
      return dispatch(req, res, name, endpoints[name], (answer) => contract.answer(name, answer));
    }
    if (path.startsWith("/private/files/")) {
      const f = files.get(path);
      if (!f) throw new FrappeError(404, "DoesNotExistError", "File not found");
      res.writeHead(200, { "Content-Type": f.mime_type, "Content-Length": f.content.length, "Cache-Control": "private, max-age=600" });
      res.end(f.content);
      return;
    }
    if (path === "/harness/realtime") return realtime(url, req, res);
    if (path === "/harness/realtime/subscribe") {
      const args = await readArgs(req);
      clients.get(String(args.client))?.rooms.add(`doc:${String(args.doctype)}:${String(args.docname)}`);
      return send(res, 200, "application/json", "{}");
    }
    if (path === "/harness/frappe.js") return send(res, 200, "text/javascript", HARNESS_FRAPPE_JS);
    if (path === "/assets/voice_agent/js/call_button.js" && calling) return send(res, 200, "text/javascript", readFileSync(join(root, "voice_agent/public/js/call_button.js")));
    if (path === "/assets/voice_agent/js/whatsapp_panel.js") return send(res, 200, "text/javascript", readFileSync(join(root, "voice_agent/public/js/whatsapp_panel.js")));
    if (path === "/harness/page/whatsapp_inbox.js") return send(res, 200, "text/javascript", readFileSync(join(root, "voice_agent/voice_agent/page/whatsapp_inbox/whatsapp_inbox.js")));
    if (path.startsWith("/assets/voice_agent/dist/")) {
      const rel = normalize(path.slice("/assets/voice_agent/dist/".length));
      const file = join(root, "voice_agent/public/dist", rel);
      if (rel.startsWith("..") || !existsSync(file)) throw new FrappeError(404, "DoesNotExistError", "not found");
      return send(res, 200, extname(file) === ".js" ? "text/javascript" : "application/json", readFileSync(file));
    }
    if (path === "/favicon.ico") return send(res, 204, "image/x-icon", "");
    if (path.startsWith("/app/")) {
      const [page, name] = path.slice(5).split("/").map(decodeURIComponent);
      const theme = url.searchParams.get("theme") === "dark" ? "dark" : "light";
      const desk = { theme, csrf: CSRF_TOKEN, user: userOf(req), calling: calling ? { accounts: [...accounts.values()].map((a) => ({ name: a.name, title: a.title })) } : undefined } as const;
      if (page === "whatsapp-inbox") return send(res, 200, "text/html", deskPage({ kind: "inbox", ...desk }));
      const doctype = [...parties.values()].find((p) => p.doctype.toLowerCase().replace(/ /g, "-") === page && p.name === name);
      if (doctype) return send(res, 200, "text/html", deskPage({ kind: "form", ...desk, party: doctype }));
    }
    throw new FrappeError(404, "DoesNotExistError", `not found: ${path}`);
  }

  function realtime(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const id = url.searchParams.get("client") ?? randomBytes(6).toString("hex");
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
    res.write(`event: connected\ndata: ${JSON.stringify({ client: id })}\n\n`);
    clients.set(id, { res, user: userOf(req), rooms: new Set() });
    res.on("close", () => clients.delete(id));
  }

  async function uploadFile(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const form = await new Response(new Uint8Array(body), { headers: { "content-type": req.headers["content-type"] ?? "" } }).formData();
    const file = form.get("file");
    if (!(file instanceof File)) throwValidation("No file attached");
    const doctype = String(form.get("doctype") ?? "");
    const docname = String(form.get("docname") ?? "");
    if (doctype === "WhatsApp Conversation") conversationFor(docname, USER);
    const blob = file as File;
    const content = Buffer.from(await blob.arrayBuffer());
    // Frappe's File takes its type from the name (mimetypes.guess_type), not from the browser.
    const guessed = ({ ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".pdf": "application/pdf", ".txt": "text/plain", ".ogg": "audio/ogg", ".mp4": "video/mp4" } as Record<string, string>)[extname(blob.name).toLowerCase()];
    const f = storeFile(content, blob.name, guessed ?? "application/octet-stream", doctype ? [doctype, docname] : null);
    calls.push({ method: "upload_file", args: { doctype, docname, is_private: form.get("is_private"), file_name: blob.name, size: content.length }, status: 200 });
    return send(res, 200, "application/json", JSON.stringify({ message: { name: f.name, file_name: f.file_name, file_url: f.file_url, is_private: 1, file_size: content.length, attached_to_doctype: doctype || null, attached_to_name: docname || null } }));
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  origin = `http://127.0.0.1:${address.port}`;
  fake.origin = origin;
  return fake;
}

/** The desk user of a request: the harness cookie (a browser context per user), else USER. */
function userOf(req: IncomingMessage): string {
  const cookie = (req.headers.cookie ?? "").split(";").map((c) => c.trim().split("=")).find(([k]) => k === USER_COOKIE);
  return cookie?.[1] ? decodeURIComponent(cookie[1]) : USER;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Frappe's form_dict: a form-encoded body (what frappe.call sends) or JSON. */
async function readArgs(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString("utf8");
  if (!text) return {};
  if ((req.headers["content-type"] ?? "").includes("application/json")) return JSON.parse(text) as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(text));
}
