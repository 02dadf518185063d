// The desk call panel, lazy-loaded by voice_agent/public/js/call_button.js.
import { CallPanel, type VoiceCallUpdate } from "../calling/call-panel";
import { createCallsApi, type CallsApi } from "../calling/calls-api";
import type { MediaCounters } from "../calling/call-session";

interface OpenOptions {
  reference_doctype?: string;
  reference_name?: string;
  /** Join a running call as supervisor instead of starting one. */
  supervise_call?: string;
  listen_only?: boolean;
  title?: string;
}

interface VoiceAgentGlobal {
  open_call_panel(opts: OpenOptions): CallPanel;
  handle_call_update(update: VoiceCallUpdate): void;
  /** The open panel's packet counters (browser tests and troubleshooting). */
  media_counters(): Promise<MediaCounters | null>;
  current_panel: CallPanel | null;
  calls_api?: CallsApi;
}

declare global {
  interface Window {
    voice_agent?: Partial<VoiceAgentGlobal> & Record<string, unknown>;
    frappe?: { realtime?: { on(event: string, handler: (data: unknown) => void): void } } & Record<string, unknown>;
  }
}

const ns = (window.voice_agent ??= {});
let current: CallPanel | null = null;

function openCallPanel(opts: OpenOptions): CallPanel {
  if (current?.session && current.session.status !== "ended") {
    current.root.querySelector<HTMLElement>("button:not([hidden]):not([disabled])")?.focus();
    return current;
  }
  current?.close();
  const api = ns.calls_api ?? createCallsApi();
  const supervising = opts.supervise_call !== undefined;
  const listenOnly = supervising && opts.listen_only !== false;
  const title = opts.title ?? (supervising ? `Listening in: ${opts.supervise_call}` : `${opts.reference_doctype}: ${opts.reference_name}`);
  const panel = new CallPanel({
    title,
    api,
    listenOnly,
    join: () => {
      if (supervising) return api.joinAsSupervisor(opts.supervise_call as string, listenOnly);
      if (!opts.reference_doctype || !opts.reference_name) throw new Error("open_call_panel needs reference_doctype and reference_name");
      return api.initiateCall(opts.reference_doctype, opts.reference_name);
    },
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

ns.open_call_panel = openCallPanel;
ns.handle_call_update = (update) => current?.applyServerUpdate(update);
ns.media_counters = async () => (current?.session ? current.session.mediaCounters() : null);
ns.current_panel = null;

if (window.frappe?.realtime && !ns.realtime_bound) {
  ns.realtime_bound = true;
  window.frappe.realtime.on("voice_call_update", (data) => ns.handle_call_update?.(data as VoiceCallUpdate));
}
