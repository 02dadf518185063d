// The incoming WhatsApp call popups of a desk page (flow C of docs/whatsapp-calls.md), as a state machine:
// one popup per ringing call, stacked; Accept / Decline; the ring sound while any rings; what the other
// tabs and users did (answered by someone, the call over) closes it. The DOM is incoming-call-view.ts.
import type { VoiceCallUpdate } from "./signaling-types";
import type { IncomingWhatsAppCall, JoinAnswer, WhatsAppCallAnswered, WhatsAppCallEnded, WhatsAppCallsApi } from "./whatsapp-calls-api";
import { __ } from "../shared/i18n";

/**
 * ringing: Accept / Decline offered; accepting / declining: the request is on its way; accepted: ours
 * (the popup is gone, the panel opened); refused: the server would not give it to us (someone else was
 * first, it ended); answered: another user took it; ended: over before anyone took it; declined: hidden
 * for this user; expired: its ring time is over and the server has not said how it ended yet.
 */
export type PopupState = "ringing" | "accepting" | "declining" | "accepted" | "refused" | "answered" | "ended" | "declined" | "expired";

/** How long a popup stays once its outcome is shown. */
export const OUTCOME_MS = 4000;
/** A refusal is read, not glanced at: longer, and it has a Close button. */
export const REFUSED_MS = 8000;
/** After the ring deadline, the server's own ending should arrive; without it the popup goes anyway. */
export const EXPIRED_MS = 10_000;

export interface Ringer {
  start(): void;
  stop(): void;
}

/** One popup on the page (incoming-call-view.ts draws it). */
export interface PopupView {
  /** The call's details (again when it is rung again with fresher ones). */
  show(call: IncomingWhatsAppCall): void;
  setState(state: PopupState): void;
  /** Seconds left to the ring deadline; null: no deadline known. */
  countdown(secondsLeft: number | null): void;
  outcome(title: string, detail: string): void;
  status(text: string): void;
  remove(): void;
}

export interface PopupActions {
  accept(): void;
  decline(): void;
  close(): void;
}

export interface IncomingCallsOptions {
  api: Pick<WhatsAppCallsApi, "accept" | "decline" | "incoming">;
  /** The session user (frappe.session.user). */
  currentUser: string;
  /** The call is ours: open the call panel with the join answer. */
  onAccepted(call: IncomingWhatsAppCall, answer: JoinAnswer): void;
  createView(call: IncomingWhatsAppCall, actions: PopupActions): PopupView;
  ringer?: Ringer;
  now?: () => number;
  /** A user's full name (frappe.user.full_name). */
  fullName?: (user: string) => string;
}

interface Popup {
  call: IncomingWhatsAppCall;
  state: PopupState;
  view: PopupView;
  closeTimer?: ReturnType<typeof setTimeout>;
}

/** Seconds left before the ring deadline (0 once it passed; null without a deadline). */
export function ringSecondsLeft(deadline: string | null, now: number): number | null {
  if (!deadline) return null;
  const at = Date.parse(deadline);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** What a popup says once the call is over, read from the `whatsapp_call_ended` event. */
export function endedText(event: WhatsAppCallEnded, fullName: (user: string) => string): { title: string; detail: string } {
  if (event.answered_by) return { title: __("Answered"), detail: __("Answered by {0}", [fullName(event.answered_by)]) };
  const title = event.state === "missed" ? __("Missed call") : event.state === "failed" ? __("Call failed") : __("Call ended");
  switch (event.end_reason) {
    case "remote_hangup":
      return { title, detail: __("The customer hung up.") };
    case "no_answer":
      return { title, detail: __("Nobody answered in time.") };
    case "rejected":
      return { title, detail: __("Declined by everyone it rang.") };
    case "unavailable":
      return { title, detail: __("Outside call hours, or calling is off.") };
    case "whatsapp_error":
      return { title, detail: __("WhatsApp ended the call.") };
    default:
      return { title, detail: event.state === "missed" ? __("Nobody took the call.") : __("The call is over.") };
  }
}

/** The popups of the calls ringing for this user, and the ring sound while any rings. */
export class IncomingCalls {
  readonly #opts: IncomingCallsOptions;
  readonly #popups = new Map<string, Popup>();
  #ticker: ReturnType<typeof setInterval> | undefined;
  #destroyed = false;

  constructor(opts: IncomingCallsOptions) {
    this.#opts = opts;
  }

  /** A `whatsapp_call_incoming` event, or a call get_incoming_whatsapp_calls listed. */
  ring(call: IncomingWhatsAppCall): void {
    if (this.#destroyed) return;
    const known = this.#popups.get(call.call);
    if (known) {
      // Rung again (ring() on the server, or the list after the event): fresher details, same popup.
      if (known.state === "ringing") {
        known.call = call;
        known.view.show(call);
        known.view.countdown(ringSecondsLeft(call.ring_deadline, this.#now()));
      }
      return;
    }
    const id = call.call;
    const view = this.#opts.createView(call, {
      accept: () => void this.accept(id),
      decline: () => void this.decline(id),
      close: () => {
        const popup = this.#popups.get(id);
        if (popup) this.#remove(popup);
      },
    });
    const popup: Popup = { call, state: "ringing", view };
    this.#popups.set(id, popup);
    view.show(call);
    view.countdown(ringSecondsLeft(call.ring_deadline, this.#now()));
    this.#setState(popup, "ringing");
    this.#ticker ??= setInterval(() => this.tick(), 1000);
  }

  /** `whatsapp_call_answered`: someone took it (another user, or this user in another tab). */
  answered(event: WhatsAppCallAnswered): void {
    const popup = this.#popups.get(event.call);
    // Our own accept answers for it; a refusal already says who (the server's sentence).
    if (!popup || popup.state === "accepting" || popup.state === "refused") return;
    if (event.answered_by === this.#opts.currentUser) return this.#remove(popup);
    const name = event.answered_by_name || this.#fullName(event.answered_by);
    this.#outcome(popup, "answered", __("Answered"), __("Answered by {0}", [name]), OUTCOME_MS);
  }

  /** `whatsapp_call_ended`: the call is over (missed, the customer hung up, or it was answered). */
  ended(event: WhatsAppCallEnded): void {
    const popup = this.#popups.get(event.call);
    if (!popup || popup.state === "refused" || popup.state === "answered") return; // already says why
    if (event.answered_by === this.#opts.currentUser) return this.#remove(popup);
    const { title, detail } = endedText(event, (u) => this.#fullName(u));
    this.#outcome(popup, event.answered_by ? "answered" : "ended", title, detail, OUTCOME_MS);
  }

  /**
   * `voice_call_update` (to the agent's every tab): the user took the call in another tab (as
   * `whatsapp_call_answered` also says), or the call ended.
   */
  callUpdate(update: Pick<VoiceCallUpdate, "call" | "state" | "end_reason" | "agent">): void {
    const popup = this.#popups.get(update.call);
    if (!popup || popup.state === "accepting") return;
    if (update.agent === this.#opts.currentUser) return this.#remove(popup);
    if (["ended", "missed", "failed"].includes(update.state)) {
      this.ended({ call: update.call, state: update.state, end_reason: update.end_reason, answered_by: update.agent });
    }
  }

  /** The calls ringing for this user now (a page opened while they ring). */
  async loadRinging(): Promise<void> {
    const { calls } = await this.#opts.api.incoming();
    for (const call of calls) this.ring(call);
  }

  async accept(callId: string): Promise<void> {
    const popup = this.#popups.get(callId);
    if (!popup || popup.state !== "ringing") return;
    this.#setState(popup, "accepting");
    popup.view.status(__("Connecting…"));
    let answer: JoinAnswer;
    try {
      answer = await this.#opts.api.accept(callId);
    } catch (error) {
      // Someone was first (the server says who), or the call ended meanwhile: the server's sentence.
      if (this.#still(popup, "accepting")) this.#outcome(popup, "refused", __("Not connected"), errorText(error), REFUSED_MS);
      return;
    }
    if (this.#still(popup, "accepting")) this.#setState(popup, "accepted");
    this.#remove(popup);
    this.#opts.onAccepted(popup.call, answer);
  }

  async decline(callId: string): Promise<void> {
    const popup = this.#popups.get(callId);
    if (!popup || popup.state !== "ringing") return;
    this.#setState(popup, "declining");
    try {
      await this.#opts.api.decline(callId);
    } catch (error) {
      if (this.#still(popup, "declining")) this.#outcome(popup, "refused", __("Could not decline"), errorText(error), REFUSED_MS);
      return;
    }
    if (this.#still(popup, "declining")) {
      this.#setState(popup, "declined");
      this.#remove(popup);
    }
  }

  /** The countdowns, once a second; a call past its deadline stops ringing. */
  tick(): void {
    const now = this.#now();
    for (const popup of [...this.#popups.values()]) {
      if (popup.state !== "ringing" && popup.state !== "accepting") continue;
      const left = ringSecondsLeft(popup.call.ring_deadline, now);
      popup.view.countdown(left);
      if (left === 0 && popup.state === "ringing") {
        this.#outcome(popup, "expired", __("No answer"), __("The call stopped ringing."), EXPIRED_MS);
      }
    }
  }

  stateOf(callId: string): PopupState | undefined {
    return this.#popups.get(callId)?.state;
  }

  /** The calls with a popup, oldest first. */
  get shown(): string[] {
    return [...this.#popups.keys()];
  }

  get ringingCount(): number {
    return [...this.#popups.values()].filter((p) => p.state === "ringing").length;
  }

  destroy(): void {
    this.#destroyed = true;
    for (const popup of [...this.#popups.values()]) this.#remove(popup);
    this.#opts.ringer?.stop();
  }

  /** After an await: the popup is still shown and nothing (an event) moved it on meanwhile. */
  #still(popup: Popup, state: PopupState): boolean {
    return this.#popups.get(popup.call.call) === popup && popup.state === state;
  }

  #now(): number {
    return this.#opts.now ? this.#opts.now() : Date.now();
  }

  #fullName(user: string): string {
    return this.#opts.fullName ? this.#opts.fullName(user) : user;
  }

  #setState(popup: Popup, state: PopupState): void {
    popup.state = state;
    popup.view.setState(state);
    this.#syncRinger();
  }

  /** Plays while at least one popup rings; every other outcome stops it. */
  #syncRinger(): void {
    const ringer = this.#opts.ringer;
    if (!ringer) return;
    if (this.ringingCount > 0) ringer.start();
    else ringer.stop();
  }

  #outcome(popup: Popup, state: PopupState, title: string, detail: string, closeAfterMs: number): void {
    this.#setState(popup, state);
    popup.view.status("");
    popup.view.outcome(title, detail);
    clearTimeout(popup.closeTimer);
    popup.closeTimer = setTimeout(() => this.#remove(popup), closeAfterMs);
  }

  #remove(popup: Popup): void {
    clearTimeout(popup.closeTimer);
    if (this.#popups.get(popup.call.call) === popup) this.#popups.delete(popup.call.call);
    popup.view.remove();
    if (this.#popups.size === 0 && this.#ticker !== undefined) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
    this.#syncRinger();
  }
}

function errorText(error: unknown): string {
  const e = error as { serverMessage?: unknown; message?: unknown } | undefined;
  if (typeof e?.serverMessage === "string" && e.serverMessage) return e.serverMessage;
  if (typeof e?.message === "string" && e.message) return e.message;
  return __("The request failed.");
}
