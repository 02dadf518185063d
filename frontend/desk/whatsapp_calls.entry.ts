// On every desk page (hooks.py app_include_js): the incoming WhatsApp call popup. Small on purpose; the
// call panel (call_panel.js) is lazy-loaded once the user accepts, as the Call button does.
import { IncomingCalls } from "../calling/incoming-call";
import { domPopupView } from "../calling/incoming-call-view";
import { WebAudioRinger } from "../calling/ring-tone";
import type { VoiceCallUpdate } from "../calling/signaling-types";
import {
  createWhatsAppCallsApi,
  WHATSAPP_CALL_EVENTS,
  type IncomingWhatsAppCall,
  type JoinAnswer,
  type WhatsAppCallAnswered,
  type WhatsAppCallEnded,
} from "../calling/whatsapp-calls-api";
import { __ } from "../shared/i18n";

const PANEL_ASSET = "/assets/voice_agent/dist/call_panel.js";

interface DeskFrappe {
  boot?: { voice_agent?: { caller_roles?: string[] } };
  session?: { user?: string };
  user?: { has_role?(role: string): boolean; full_name?(user: string): string };
  realtime?: { on(event: string, handler: (data: unknown) => void): void };
  require?(url: string, callback: () => void): unknown;
  app?: unknown;
}

interface PanelNamespace {
  open_call_panel?(opts: { join_answer: JoinAnswer; title: string; channel: "whatsapp" }): unknown;
  incoming_calls?: IncomingCalls;
  whatsapp_calls_bound?: boolean;
}

type JQueryLike = (target: unknown) => { one(event: string, handler: () => void): unknown };

const w = window as unknown as { frappe?: DeskFrappe; voice_agent?: PanelNamespace; jQuery?: JQueryLike };

function loadPanel(frappe: DeskFrappe): Promise<void> {
  if (w.voice_agent?.open_call_panel) return Promise.resolve();
  return new Promise((resolve) => frappe.require?.(PANEL_ASSET, resolve));
}

function start(): void {
  const frappe = w.frappe;
  const ns = (w.voice_agent ??= {});
  if (!frappe?.realtime || ns.whatsapp_calls_bound) return;
  const roles = frappe.boot?.voice_agent?.caller_roles ?? [];
  if (!roles.some((role) => frappe.user?.has_role?.(role))) return; // calls never ring for this user
  ns.whatsapp_calls_bound = true;
  const currentUser = frappe.session?.user ?? "";
  const calls = new IncomingCalls({
    api: createWhatsAppCallsApi(),
    currentUser,
    createView: (call, actions) => domPopupView(call, actions),
    ringer: new WebAudioRinger(),
    fullName: (user) => frappe.user?.full_name?.(user) ?? user,
    onAccepted: (call: IncomingWhatsAppCall, answer: JoinAnswer) => {
      const caller = call.caller_name || call.phone || call.wa_id;
      void loadPanel(frappe).then(() => ns.open_call_panel?.({ join_answer: answer, title: __("WhatsApp: {0}", [caller]), channel: "whatsapp" }));
    },
  });
  ns.incoming_calls = calls;
  frappe.realtime.on(WHATSAPP_CALL_EVENTS.incoming, (data) => calls.ring(data as IncomingWhatsAppCall));
  frappe.realtime.on(WHATSAPP_CALL_EVENTS.answered, (data) => calls.answered(data as WhatsAppCallAnswered));
  frappe.realtime.on(WHATSAPP_CALL_EVENTS.ended, (data) => calls.ended(data as WhatsAppCallEnded));
  // The user's own other tabs hear of their accept only through the call's update.
  frappe.realtime.on("voice_call_update", (data) => calls.callUpdate(data as VoiceCallUpdate));
  // A page opened while a call rings shows it too.
  calls.loadRinging().catch((error: unknown) => console.warn("voice_agent: could not read the ringing WhatsApp calls", error));
}

// app_include_js runs before the desk starts: frappe.realtime only accepts listeners once the app
// has initialised it (Frappe triggers app_ready on document then).
if (w.jQuery && w.frappe && !w.frappe.app) w.jQuery(document).one("app_ready", start);
else start();
