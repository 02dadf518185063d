// The desk call panel, lazy-loaded by voice_agent/public/js/call_button.js (and by the incoming WhatsApp
// call popup, whatsapp_calls.js, once a call is accepted).
import { CallPanel, type VoiceCallUpdate } from "../calling/call-panel";
import { createCallsApi, type CallsApi } from "../calling/calls-api";
import type { MediaCounters } from "../calling/call-session";
import type { JoinAnswer } from "../calling/signaling-types";
import { createWhatsAppCallsApi, WHATSAPP_CALL_EVENTS, type CallPermission, type WhatsAppCallsApi } from "../calling/whatsapp-calls-api";
import { WhatsAppCallSetup, type WhatsAppAccountChoice } from "../calling/whatsapp-setup";

interface OpenOptions {
  reference_doctype?: string;
  reference_name?: string;
  /** Join a running call as supervisor instead of starting one. */
  supervise_call?: string;
  listen_only?: boolean;
  /** Join with a join answer already given (an accepted WhatsApp call: accept_whatsapp_call). */
  join_answer?: JoinAnswer;
  /** "whatsapp": call the record's WhatsApp (its permission first); the browser otherwise. */
  channel?: "browser" | "whatsapp";
  /** The WhatsApp numbers the user may call from (frappe.boot.voice_agent.whatsapp_calling_accounts). */
  whatsapp_accounts?: WhatsAppAccountChoice[];
  title?: string;
}

interface VoiceAgentGlobal {
  open_call_panel(opts: OpenOptions): CallPanel | WhatsAppCallSetup;
  handle_call_update(update: VoiceCallUpdate): void;
  /** The open panel's packet counters (browser tests and troubleshooting). */
  media_counters(): Promise<MediaCounters | null>;
  current_panel: CallPanel | null;
  calls_api?: CallsApi;
  whatsapp_calls_api?: WhatsAppCallsApi;
}

declare global {
  interface Window {
    voice_agent?: Partial<VoiceAgentGlobal> & Record<string, unknown>;
    frappe?: { realtime?: { on(event: string, handler: (data: unknown) => void): void } } & Record<string, unknown>;
  }
}

const ns = (window.voice_agent ??= {});
let current: CallPanel | null = null;
let setup: WhatsAppCallSetup | null = null;

function focusOpen(): boolean {
  const open = current?.session && current.session.status !== "ended" ? current.root : setup && !setup.closed ? setup.root : null;
  if (!open) return false;
  open.querySelector<HTMLElement>("button:not([hidden]):not([disabled])")?.focus();
  return true;
}

function openPanel(title: string, join: () => Promise<JoinAnswer>, listenOnly = false, channel: OpenOptions["channel"] = "browser"): CallPanel {
  current?.close();
  const api = ns.calls_api ?? createCallsApi();
  const panel = new CallPanel({
    title,
    api,
    listenOnly,
    channel,
    join,
    onClose: () => {
      if (current === panel) current = null;
      ns.current_panel = null;
    },
  });
  current = panel;
  ns.current_panel = panel;
  void panel.start();
  return panel;
}

function openWhatsAppSetup(opts: OpenOptions, title: string): WhatsAppCallSetup {
  if (!opts.reference_doctype || !opts.reference_name) throw new Error("a WhatsApp call needs reference_doctype and reference_name");
  current?.close();
  setup?.close();
  const view = new WhatsAppCallSetup({
    title,
    referenceDoctype: opts.reference_doctype,
    referenceName: opts.reference_name,
    accounts: opts.whatsapp_accounts ?? [],
    api: ns.whatsapp_calls_api ?? createWhatsAppCallsApi(),
    onCall: (answer) => void openPanel(title, () => Promise.resolve(answer), false, "whatsapp"),
    onClose: () => {
      if (setup === view) setup = null;
    },
  });
  setup = view;
  void view.load();
  return view;
}

function openCallPanel(opts: OpenOptions): CallPanel | WhatsAppCallSetup {
  if (focusOpen()) return (current?.session && current.session.status !== "ended" ? current : setup) as CallPanel | WhatsAppCallSetup;
  const supervising = opts.supervise_call !== undefined;
  const listenOnly = supervising && opts.listen_only !== false;
  const title = opts.title ?? (supervising ? `Listening in: ${opts.supervise_call}` : `${opts.reference_doctype}: ${opts.reference_name}`);
  // An accepted WhatsApp call comes with its join answer; "whatsapp" alone asks for a call first.
  if (opts.channel === "whatsapp" && !opts.join_answer) return openWhatsAppSetup(opts, title);
  const api = ns.calls_api ?? createCallsApi();
  return openPanel(
    title,
    () => {
      if (opts.join_answer) return Promise.resolve(opts.join_answer);
      if (supervising) return api.joinAsSupervisor(opts.supervise_call as string, listenOnly);
      if (!opts.reference_doctype || !opts.reference_name) throw new Error("open_call_panel needs reference_doctype and reference_name");
      return api.initiateCall(opts.reference_doctype, opts.reference_name);
    },
    listenOnly,
    opts.channel,
  );
}

ns.open_call_panel = openCallPanel;
ns.handle_call_update = (update) => current?.applyServerUpdate(update);
ns.media_counters = async () => (current?.session ? current.session.mediaCounters() : null);
ns.current_panel = null;

if (window.frappe?.realtime && !ns.realtime_bound) {
  ns.realtime_bound = true;
  window.frappe.realtime.on("voice_call_update", (data) => ns.handle_call_update?.(data as VoiceCallUpdate));
  // The customer answered the permission request: the open WhatsApp panel shows it.
  window.frappe.realtime.on(WHATSAPP_CALL_EVENTS.permission, (data) => setup?.applyPermission(data as CallPermission));
}
