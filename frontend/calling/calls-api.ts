import { createMethodCaller, type MethodCaller } from "../shared/frappe-call";
import type { EndCallAnswer, InviteAnswer, JoinAnswer } from "./signaling-types";

const M = "voice_agent.api.calls.";

/** The desk-calling endpoints (docs/desk-calling.md), names exact. */
export interface CallsApi {
  initiateCall(referenceDoctype: string, referenceName: string): Promise<JoinAnswer>;
  createInvite(call: string): Promise<InviteAnswer>;
  sendInvite(call: string, email: string): Promise<InviteAnswer>;
  joinInvite(invite: string, name?: string): Promise<JoinAnswer>;
  joinAsSupervisor(call: string, listenOnly: boolean): Promise<JoinAnswer>;
  endCall(call: string, reason: string): Promise<EndCallAnswer>;
}

interface DeskFrappe {
  call(opts: { method: string; args: Record<string, unknown>; type?: string }): Promise<{ message: unknown }>;
}

/** In the desk, frappe.call carries the session's CSRF token; elsewhere (the invite page) frappe-js-sdk. */
export function defaultCaller(): MethodCaller {
  const frappe = (globalThis as { frappe?: DeskFrappe }).frappe;
  if (frappe && typeof frappe.call === "function") {
    return {
      async post<T>(method: string, args: Record<string, unknown> = {}): Promise<T> {
        const r = await frappe.call({ method, args, type: "POST" });
        return r.message as T;
      },
    };
  }
  return createMethodCaller(window.location.origin);
}

export function createCallsApi(caller: MethodCaller = defaultCaller()): CallsApi {
  return {
    initiateCall: (reference_doctype, reference_name) =>
      caller.post(`${M}initiate_call`, { reference_doctype, reference_name, channel: "browser" }),
    createInvite: (call) => caller.post(`${M}create_invite`, { call }),
    sendInvite: (call, email) => caller.post(`${M}send_invite`, { call, email }),
    joinInvite: (invite, name) => caller.post(`${M}join_invite`, name ? { invite, name } : { invite }),
    joinAsSupervisor: (call, listen_only) => caller.post(`${M}join_as_supervisor`, { call, listen_only }),
    endCall: (call, reason) => caller.post(`${M}end_call`, { call, reason }),
  };
}
