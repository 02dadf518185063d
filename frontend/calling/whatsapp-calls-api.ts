// The WhatsApp calling endpoints (voice_agent/api/whatsapp_calls.py, docs/whatsapp-calls.md): answers
// typed from contracts/frappe-api.d.ts. Through the desk's frappe.call, silently (the popup and the
// panel show the server's sentence themselves), and without frappe-js-sdk: the incoming-call popup
// that uses it loads on every desk page.
import type { CallPermission, DeclineAnswer, IncomingWhatsAppCalls, JoinAnswer, PermissionRequestAnswer } from "../../contracts/frappe-api";
import type { MethodCaller } from "../shared/frappe-call";
import { deskCaller } from "../shared/desk-call";

// The contract's shapes the popup and the panel use, from one place.
export type {
  CallLimit,
  CallPermission,
  DeclineAnswer,
  IncomingWhatsAppCall,
  IncomingWhatsAppCalls,
  JoinAnswer,
  PermissionRequestAnswer,
  WhatsAppCallAnswered,
  WhatsAppCallEnded,
} from "../../contracts/frappe-api";

export const WHATSAPP_CALLS_MODULE = "voice_agent.api.whatsapp_calls.";

/** The realtime events of WhatsApp calls (voice_agent/integrations/whatsapp/calls.py). */
export const WHATSAPP_CALL_EVENTS = {
  incoming: "whatsapp_call_incoming",
  answered: "whatsapp_call_answered",
  ended: "whatsapp_call_ended",
  permission: "whatsapp_call_permission",
} as const;

/** Whose permission to read: a conversation, or a record and (optionally) the number to call it from. */
export type PermissionTarget = { conversation: string } | { reference_doctype: string; reference_name: string; account?: string };

export interface WhatsAppCallsApi {
  startCall(referenceDoctype: string, referenceName: string, account?: string): Promise<JoinAnswer>;
  getPermission(target: PermissionTarget): Promise<CallPermission>;
  requestPermission(conversation: string): Promise<PermissionRequestAnswer>;
  accept(call: string): Promise<JoinAnswer>;
  decline(call: string): Promise<DeclineAnswer>;
  incoming(): Promise<IncomingWhatsAppCalls>;
}

export function createWhatsAppCallsApi(caller: MethodCaller = deskCaller()): WhatsAppCallsApi {
  const post = <T>(name: string, args: Record<string, unknown>) => caller.post<T>(`${WHATSAPP_CALLS_MODULE}${name}`, args);
  return {
    startCall: (reference_doctype, reference_name, account) =>
      post("start_whatsapp_call", account ? { reference_doctype, reference_name, account } : { reference_doctype, reference_name }),
    getPermission: (target) => {
      if ("conversation" in target) return post("get_call_permission", { conversation: target.conversation });
      const { reference_doctype, reference_name, account } = target;
      return post("get_call_permission", account ? { reference_doctype, reference_name, account } : { reference_doctype, reference_name });
    },
    requestPermission: (conversation) => post("request_call_permission", { conversation }),
    accept: (call) => post("accept_whatsapp_call", { call }),
    decline: (call) => post("decline_whatsapp_call", { call }),
    incoming: () => post("get_incoming_whatsapp_calls", {}),
  };
}
