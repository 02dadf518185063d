import { CallSession, type CallEndCause, type CallEndingWarning, type CallSessionDeps, type CallStatus } from "./call-session";
import type { CallsApi } from "./calls-api";
import { endMessage, endingText, gradeQuality, secondsLeft, statusText } from "./messages";
import { PANEL_CSS } from "./call-panel.css";
import { formatDuration } from "../shared/duration";
import { parseServerMessages } from "../shared/frappe-errors";
import { __ } from "../shared/i18n";
import type { JoinAnswer, ParticipantInfo, QualitySample, VoiceCallUpdate } from "./signaling-types";

export type { VoiceCallUpdate };

export interface CallPanelOptions {
  /** Who the call is with, e.g. "Lead: Jane Doe". */
  title: string;
  /** Gets the join answer (initiate_call, join_invite or join_as_supervisor). */
  join: () => Promise<JoinAnswer>;
  api: CallsApi;
  listenOnly?: boolean;
  /** "whatsapp": the customer is on WhatsApp, reached by Meta's call, so there is no invite link to send. */
  channel?: "browser" | "whatsapp";
  /** "floating" in the desk, "inline" inside a page element (the invite page). */
  layout?: "floating" | "inline";
  container?: HTMLElement;
  deps?: Partial<CallSessionDeps>;
  onClose?: () => void;
}


const ROLE_LABEL: Record<string, string> = { agent: "Agent", customer: "Customer", supervisor: "Supervisor", whatsapp: "WhatsApp" };

let panelSeq = 0;

/** The call panel: one CallSession plus its controls. close() is idempotent and releases the session. */
export class CallPanel {
  session: CallSession | undefined;
  readonly root: HTMLElement;
  #opts: CallPanelOptions;
  #el: Record<string, HTMLElement> = {};
  #timers: number[] = [];
  #closed = false;
  #lastQuality: QualitySample | undefined;
  #ending: CallEndingWarning | undefined;

  constructor(opts: CallPanelOptions) {
    this.#opts = opts;
    ensurePanelStyles();
    const id = `va-call-${++panelSeq}`;
    this.root = document.createElement("section");
    this.root.className = `va-call-panel va-call-${opts.layout ?? "floating"}`;
    this.root.setAttribute("aria-labelledby", `${id}-title`);
    this.root.dataset.status = "connecting";
    this.root.innerHTML = `
      <div class="va-cp-head">
        <span class="va-cp-dot" aria-hidden="true"></span>
        <div class="va-cp-heading">
          <h2 class="va-cp-title" id="${id}-title"></h2>
          <p class="va-cp-status" role="status" aria-live="polite" data-ref="status">Connecting…</p>
        </div>
        <time class="va-cp-timer" data-ref="timer" aria-label="Call time">00:00</time>
      </div>
      <div class="va-cp-alert" role="alert" data-ref="alert" hidden>
        <strong data-ref="alertTitle"></strong>
        <p data-ref="alertDetail"></p>
      </div>
      <p class="va-cp-warning" role="alert" data-ref="warning" hidden></p>
      <div class="va-cp-meters">
        <div class="va-cp-mic" data-ref="micRow">
          <span class="va-cp-label" id="${id}-level">Mic</span>
          <div class="va-cp-level" role="meter" aria-labelledby="${id}-level" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" data-ref="level"><span data-ref="levelBar"></span></div>
        </div>
        <p class="va-cp-quality" data-ref="quality" data-grade="none" aria-live="off">Quality: waiting for samples</p>
      </div>
      <ul class="va-cp-people" data-ref="people" aria-label="People in the call"></ul>
      <label class="va-cp-field" data-ref="micField">
        <span class="va-cp-label">Microphone</span>
        <select data-ref="mic" disabled></select>
      </label>
      <div class="va-cp-invite" data-ref="invite" hidden>
        <label class="va-cp-field"><span class="va-cp-label" data-ref="inviteLabel"></span>
          <input type="text" readonly data-ref="inviteUrl"></label>
        <form class="va-cp-email" data-ref="emailForm">
          <label class="va-cp-field"><span class="va-cp-label">Email the link to</span>
            <input type="email" required placeholder="customer@example.com" data-ref="email"></label>
          <button type="submit" class="btn btn-default btn-sm va-btn">Send email</button>
        </form>
        <p class="va-cp-note" data-ref="inviteNote" aria-live="polite"></p>
      </div>
      <div class="va-cp-actions">
        <button type="button" class="btn btn-default btn-sm va-btn" data-ref="mute" aria-pressed="false" disabled>Mute</button>
        <button type="button" class="btn btn-default btn-sm va-btn" data-ref="hold" aria-pressed="false" disabled>Hold</button>
        <button type="button" class="btn btn-default btn-sm va-btn" data-ref="sendInvite" disabled>Send invite</button>
        <button type="button" class="btn btn-danger btn-sm va-btn va-btn-danger" data-ref="hangup">Hang up</button>
        <button type="button" class="btn btn-default btn-sm va-btn" data-ref="close" hidden>Close</button>
      </div>`;
    for (const node of this.root.querySelectorAll<HTMLElement>("[data-ref]")) this.#el[node.dataset.ref as string] = node;
    this.root.querySelector("h2")?.append(opts.title);
    if (opts.listenOnly) {
      this.#ref("micRow").hidden = true;
      this.#ref("micField").hidden = true;
      this.#ref("mute").hidden = true;
    }
    this.#wireControls();
    (opts.container ?? document.body).append(this.root);
    // Keyboard users land in the panel; Tab moves through its controls.
    this.#ref("hangup").focus();
  }

  /** Joins the call; every failure ends in a readable message on the panel. */
  async start(): Promise<void> {
    let answer: JoinAnswer;
    try {
      answer = await this.#opts.join();
    } catch (error) {
      this.#showEnded({ kind: "error", detail: frappeErrorText(error) });
      return;
    }
    if (this.#closed) return;
    const session = new CallSession(answer, { listenOnly: this.#opts.listenOnly ?? false, deps: this.#opts.deps });
    this.session = session;
    this.root.dataset.role = answer.role;
    this.root.dataset.call = answer.call;
    const isAgent = answer.role === "agent";
    this.#ref("hold").hidden = !isAgent;
    this.#ref("sendInvite").hidden = !isAgent || this.#opts.channel === "whatsapp";
    if (answer.role === "supervisor") this.#ref("hangup").textContent = "Leave";
    session.on("status", (status, cause) => this.#onStatus(status, cause));
    session.on("ending", (warning) => this.#onEnding(warning));
    session.on("participants", (people) => this.#renderPeople(people));
    session.on("quality", (sample) => this.#onQuality(sample));
    session.on("muted", (muted) => {
      const mute = this.#ref("mute");
      mute.setAttribute("aria-pressed", String(muted));
      mute.textContent = muted ? "Unmute" : "Mute";
    });
    this.#ref("sendInvite").toggleAttribute("disabled", false);
    await session.start();
    if (session.status !== "ended") {
      this.#ref("mute").toggleAttribute("disabled", false);
      await this.#fillMicrophones();
      this.#timers.push(window.setInterval(() => this.#tick(), 100));
    }
  }

  /**
   * A `voice_call_update` from Frappe: a call Frappe knows is over although the call server
   * did not say so here (the server is gone, or the call was closed from the desk).
   */
  applyServerUpdate(update: VoiceCallUpdate): void {
    if (!this.session || update.call !== this.session.call || this.session.status === "ended") return;
    const reason = update.end_reason ?? undefined;
    let cause: CallEndCause;
    if (update.state === "missed") cause = { kind: "missed" };
    else if (update.state === "failed") cause = { kind: "failed", reason };
    else if (update.state === "ended") cause = { kind: "remote_ended", reason };
    else return;
    // Through the session, so that its status is "ended" too: a panel whose session still says
    // "connected" is taken for a live call, and the next call's panel would not open.
    this.session.endWith(cause);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.session?.close();
    this.root.remove();
    this.#opts.onClose?.();
  }

  #ref(name: string): HTMLElement {
    const el = this.#el[name];
    if (!el) throw new Error(`call panel element ${name} missing`);
    return el;
  }

  #wireControls(): void {
    this.#ref("mute").addEventListener("click", () => {
      const s = this.session;
      if (s) void s.setMuted(!s.muted).catch((e: unknown) => this.#flash(frappeErrorText(e)));
    });
    this.#ref("hold").addEventListener("click", () => {
      const s = this.session;
      if (!s) return;
      const hold = s.status !== "on_hold";
      void s.setOnHold(hold).catch((e: unknown) => this.#flash(frappeErrorText(e)));
    });
    this.#ref("hangup").addEventListener("click", () => void this.#hangUp());
    this.#ref("close").addEventListener("click", () => this.close());
    this.#ref("sendInvite").addEventListener("click", () => void this.#sendInvite());
    this.#ref("emailForm").addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#emailInvite();
    });
    (this.#ref("mic") as HTMLSelectElement).addEventListener("change", (event) => {
      const id = (event.target as HTMLSelectElement).value;
      void this.session?.switchMicrophone(id).catch((e: unknown) => this.#flash(`Could not switch microphone: ${frappeErrorText(e)}`));
    });
    this.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.session?.status === "ended") this.close();
    });
  }

  async #hangUp(): Promise<void> {
    const s = this.session;
    if (!s) return this.close();
    const wasAgent = s.role === "agent";
    try {
      await s.hangUp();
    } catch (error) {
      this.#flash(`Hang-up: ${frappeErrorText(error)}`);
    }
    if (!wasAgent) return;
    try {
      await this.#opts.api.endCall(s.call, "hangup"); // idempotent: an error here is a real one
    } catch (error) {
      this.#flash(`Could not record the end of the call: ${frappeErrorText(error)}`);
    }
  }

  async #sendInvite(): Promise<void> {
    const s = this.session;
    if (!s) return;
    const note = this.#ref("inviteNote");
    try {
      const { url } = await this.#opts.api.createInvite(s.call);
      if (s.status === "ended") return;
      (this.#ref("inviteUrl") as HTMLInputElement).value = url;
      this.#ref("invite").hidden = false;
      let copied = false;
      try {
        await navigator.clipboard.writeText(url);
        copied = true;
      } catch {
        // Refused (no permission, no focus, an insecure page): the agent copies it by hand.
        copied = false;
      }
      this.#ref("inviteLabel").textContent = copied ? __("Invite link (copied)") : __("Invite link");
      note.textContent = copied ? __("Link copied to the clipboard.") : __("Copy the link above (the browser did not allow copying).");
      (this.#ref("email") as HTMLInputElement).focus();
    } catch (error) {
      this.#flash(`Could not create the invite: ${frappeErrorText(error)}`);
    }
  }

  async #emailInvite(): Promise<void> {
    const s = this.session;
    const email = (this.#ref("email") as HTMLInputElement).value.trim();
    if (!s || !email || s.status === "ended") return;
    const note = this.#ref("inviteNote");
    try {
      await this.#opts.api.sendInvite(s.call, email);
      note.textContent = `Invite emailed to ${email}.`;
    } catch (error) {
      note.textContent = `Could not email the invite: ${frappeErrorText(error)}`;
    }
  }

  async #fillMicrophones(): Promise<void> {
    const s = this.session;
    if (!s || s.listenOnly) return;
    const select = this.#ref("mic") as HTMLSelectElement;
    try {
      const mics = await s.listMicrophones();
      const current = s.microphoneTrack?.getSettings().deviceId;
      select.replaceChildren(
        ...mics.map((m, i) => {
          const option = new Option(m.label || `Microphone ${i + 1}`, m.deviceId);
          option.selected = m.deviceId === current;
          return option;
        }),
      );
      select.disabled = mics.length < 2;
    } catch {
      select.disabled = true;
    }
  }

  #tick(): void {
    const s = this.session;
    if (!s) return;
    this.#ref("timer").textContent = formatDuration(s.talkTimeMs / 1000);
    const level = Math.round(s.micLevel() * 100);
    this.#ref("levelBar").style.width = `${level}%`;
    this.#ref("level").setAttribute("aria-valuenow", String(level));
    if (this.#ending) this.#renderEnding(this.#ending);
  }

  #onEnding(warning: CallEndingWarning): void {
    this.#ending = warning;
    const box = this.#ref("warning");
    box.hidden = false;
    this.#renderEnding(warning);
    // Announced once (role=alert); the countdown that follows would be read out every second.
    box.setAttribute("aria-live", "off");
  }

  #renderEnding(warning: CallEndingWarning): void {
    const text = endingText(warning.reason, secondsLeft(warning.endsAt, Date.now()));
    const box = this.#ref("warning");
    if (box.textContent !== text) box.textContent = text;
  }

  #onStatus(status: CallStatus, cause?: CallEndCause): void {
    this.root.dataset.status = status;
    this.#ref("hold").toggleAttribute("disabled", !(status === "connected" || status === "on_hold"));
    const hold = this.#ref("hold");
    hold.setAttribute("aria-pressed", String(status === "on_hold"));
    hold.textContent = status === "on_hold" ? "Resume" : "Hold";
    if (status === "ended") this.#showEnded(cause);
    else this.#ref("status").textContent = statusText(status);
  }

  #showEnded(cause: CallEndCause | undefined): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.root.dataset.status = "ended";
    const msg = endMessage(cause, this.session?.role ?? "agent");
    this.root.dataset.endKind = cause?.kind ?? "hangup";
    this.#ref("status").textContent = msg.title;
    const alert = this.#ref("alert");
    alert.hidden = false;
    alert.classList.toggle("va-cp-alert-error", msg.isError);
    this.#ref("alertTitle").textContent = msg.title;
    this.#ref("alertDetail").textContent = msg.detail;
    this.#ending = undefined;
    this.#ref("warning").hidden = true;
    // The invite link died with the call: nothing left to copy or email.
    this.#ref("invite").hidden = true;
    for (const name of ["mute", "hold", "sendInvite", "mic"]) this.#ref(name).setAttribute("disabled", "");
    this.#ref("hangup").hidden = true;
    const close = this.#ref("close");
    close.hidden = false;
    close.focus();
    this.#ref("levelBar").style.width = "0%";
  }

  #flash(text: string): void {
    const alert = this.#ref("alert");
    alert.hidden = false;
    alert.classList.add("va-cp-alert-error");
    this.#ref("alertTitle").textContent = "";
    this.#ref("alertDetail").textContent = text;
  }

  #onQuality(sample: QualitySample): void {
    if (!this.session || sample.participantId !== this.session.participantId) return;
    // What we hear is the sidecar's outbound to us; listen-only parties have nothing else.
    if (sample.direction !== "outbound" && this.#lastQuality?.direction === "outbound") return;
    this.#lastQuality = sample;
    const grade = gradeQuality(sample);
    const q = this.#ref("quality");
    q.dataset.grade = grade;
    const rtt = sample.rttMs == null ? "" : ` · RTT ${Math.round(sample.rttMs)} ms`;
    q.textContent = `Quality: ${grade} · loss ${sample.packetLossPct.toFixed(1)}% · jitter ${Math.round(sample.jitterMs)} ms${rtt}`;
  }

  #renderPeople(people: ParticipantInfo[]): void {
    const me = this.session?.participantId;
    this.#ref("people").replaceChildren(
      ...people.map((p) => {
        const li = document.createElement("li");
        li.dataset.role = p.role;
        const name = document.createElement("span");
        name.className = "va-cp-person";
        // An invited customer who gave no name is known only by the invite id, which means nothing to people.
        name.textContent = p.participantId === me ? "You" : (p.name ?? (p.role === "customer" ? "Guest" : p.participantId));
        const badge = document.createElement("span");
        badge.className = "va-cp-badge";
        badge.textContent = ROLE_LABEL[p.role] ?? p.role;
        li.append(name, badge);
        if (p.muted) {
          const muted = document.createElement("span");
          muted.className = "va-cp-badge va-cp-badge-muted";
          muted.textContent = "muted";
          li.append(muted);
        }
        if (p.listenOnly) {
          const lo = document.createElement("span");
          lo.className = "va-cp-badge";
          lo.textContent = "listening";
          li.append(lo);
        }
        return li;
      }),
    );
  }
}

/** Frappe errors arrive as FrappeCallError (frappe-js-sdk), a jqXHR (frappe.call) or an Error. */
export function frappeErrorText(error: unknown): string {
  const e = error as { message?: unknown; responseJSON?: { _server_messages?: string } } | undefined;
  const [first] = parseServerMessages(e?.responseJSON?._server_messages);
  if (first) return first;
  if (typeof e?.message === "string" && e.message) return e.message;
  return "the request failed";
}

let stylesInjected = false;
export function ensurePanelStyles(): void {
  if (stylesInjected || document.getElementById("va-call-panel-css")) return;
  stylesInjected = true;
  const style = document.createElement("style");
  style.id = "va-call-panel-css";
  style.textContent = PANEL_CSS;
  document.head.append(style);
}
