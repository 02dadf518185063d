import { UltravoxSession, UltravoxSessionStatus, type Transcript } from "ultravox-client";
import { FrappeCallError, type MethodCaller } from "../shared/frappe-call";
import { ESCAPE, READY, isAllowedOrigin, parseContextMessage, type EmbedContext, type PageToWidget } from "../shared/embed-protocol";
import { parseGrant, type PortalConfig, type PublicProfile, type SessionGrant } from "./config";
import { describeTime } from "./format";
import { failure, failureFromCall, failureFromMediaError, type Failure } from "./messages";
import { DisplayReporter, type TranscriptLine } from "./reporter";
import type { SessionFault } from "./ultravox-guard";

const METHOD = "voice_agent.api.voice_processor";
const CONNECT_TIMEOUT_MS = 20_000;

/** What the page shows; the Ultravox statuses plus our own steps around them. */
export type PageState =
  | "ready"
  | "checking_mic"
  | "starting"
  | "connecting"
  | "idle"
  | "listening"
  | "thinking"
  | "speaking"
  | "ending"
  | "ended"
  | "error";

const STATE_LABEL: Record<PageState, string> = {
  ready: "Ready",
  checking_mic: "Checking your microphone…",
  starting: "Starting the conversation…",
  connecting: "Connecting…",
  idle: "Connected",
  listening: "Listening",
  thinking: "Thinking…",
  speaking: "Speaking",
  ending: "Ending…",
  ended: "Conversation ended",
  error: "Not connected",
};

const LIVE_STATES: ReadonlySet<PageState> = new Set(["idle", "listening", "thinking", "speaking"]);

export interface PortalDeps {
  caller: MethodCaller;
  getMicrophone: () => Promise<MediaStream>;
  /** A session whose own background failures (see ultravox-guard.ts) are passed to onFault. */
  createSession: (onFault: (fault: SessionFault) => void) => UltravoxSession;
  now: () => number;
}

function byId<T extends HTMLElement>(root: ParentNode, id: string): T {
  const el = root.querySelector<T>(`#${id}`);
  if (!el) throw new Error(`voice-agent page: #${id} is missing from the template`);
  return el;
}

export class PortalPage {
  readonly #config: PortalConfig;
  readonly #deps: PortalDeps;
  readonly #embedded: boolean;
  readonly #el: {
    app: HTMLElement;
    profiles: HTMLElement;
    noProfiles: HTMLElement;
    indicator: HTMLElement;
    status: HTMLElement;
    timer: HTMLElement;
    alert: HTMLElement;
    alertTitle: HTMLElement;
    alertDetail: HTMLElement;
    start: HTMLButtonElement;
    end: HTMLButtonElement;
    muteMic: HTMLButtonElement;
    muteSpeaker: HTMLButtonElement;
    transcript: HTMLOListElement;
    transcriptEmpty: HTMLElement;
  };
  #state: PageState = "ready";
  #selected: string | null = null;
  #session: UltravoxSession | null = null;
  #grant: SessionGrant | null = null;
  #reporter: DisplayReporter | null = null;
  #embedContext: EmbedContext | null = null;
  /** The clock starts at join: Ultravox counts maxDuration from then, whatever the media does. */
  #joinedAt: number | null = null;
  #wasLive = false;
  #tick: ReturnType<typeof setInterval> | null = null;
  #connectTimer: ReturnType<typeof setTimeout> | null = null;
  #endRequested = false;
  #attempt = 0;
  /** Start and End replace each other; focus follows when the user was on them. */
  #focusOnControls = false;

  constructor(root: HTMLElement, config: PortalConfig, deps: PortalDeps, location: Location) {
    this.#config = config;
    this.#deps = deps;
    const params = new URLSearchParams(location.search);
    this.#embedded = params.get("embed") === "1";
    this.#el = {
      app: root,
      profiles: byId(root, "va-profiles"),
      noProfiles: byId(root, "va-no-profiles"),
      indicator: byId(root, "va-indicator"),
      status: byId(root, "va-status"),
      timer: byId(root, "va-timer"),
      alert: byId(root, "va-alert"),
      alertTitle: byId(root, "va-alert-title"),
      alertDetail: byId(root, "va-alert-detail"),
      start: byId(root, "va-start"),
      end: byId(root, "va-end"),
      muteMic: byId(root, "va-mute-mic"),
      muteSpeaker: byId(root, "va-mute-speaker"),
      transcript: byId(root, "va-transcript"),
      transcriptEmpty: byId(root, "va-transcript-empty"),
    };
    const requested = params.get("profile");
    this.#selected = config.profiles.find((p) => p.name === requested)?.name ?? config.profiles[0]?.name ?? null;
  }

  get state(): PageState {
    return this.#state;
  }

  mount(): void {
    document.body.classList.toggle("va-embed", this.#embedded);
    this.#renderProfiles();
    this.#el.start.addEventListener("click", () => void this.start());
    this.#el.end.addEventListener("click", () => void this.end());
    this.#el.muteMic.addEventListener("click", () => this.#toggleMic());
    this.#el.muteSpeaker.addEventListener("click", () => this.#toggleSpeaker());
    window.addEventListener("offline", () => {
      if (this.#session && !this.#endRequested) this.#fail(failure("connection_lost"));
    });
    window.addEventListener("pagehide", () => void this.end());
    if (this.#embedded) this.#listenToWidget();
    this.#setState("ready");
  }

  #renderProfiles(): void {
    const { profiles } = this.#config;
    this.#el.profiles.replaceChildren(...profiles.map((p) => this.#profileCard(p)));
    this.#el.noProfiles.hidden = profiles.length > 0;
    this.#el.start.disabled = profiles.length === 0;
    // A profile chosen by the link may be below the fold: scroll this page (not, as scrollIntoView
    // would, the website embedding it) so the visitor sees what Start will start.
    const chosen = this.#el.profiles.querySelector<HTMLElement>(".va-card:has(input:checked)");
    const hidden = chosen ? chosen.getBoundingClientRect().bottom - window.innerHeight : 0;
    if (hidden > 0) window.scrollBy({ top: hidden + 16 });
  }

  #profileCard(profile: PublicProfile): HTMLElement {
    const label = document.createElement("label");
    label.className = "va-card";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "va-profile";
    input.value = profile.name;
    input.className = "va-card-input";
    input.checked = profile.name === this.#selected;
    input.addEventListener("change", () => {
      if (input.checked) this.#selected = profile.name;
    });
    const title = document.createElement("span");
    title.className = "va-card-title";
    title.textContent = profile.title;
    const body = document.createElement("span");
    body.className = "va-card-desc";
    body.textContent = profile.description || profile.greeting;
    label.append(input, title, body);
    if (profile.use_case) {
      const tag = document.createElement("span");
      tag.className = "va-card-tag";
      tag.textContent = profile.use_case.replace(/_/g, " ");
      label.append(tag);
    }
    return label;
  }

  async start(): Promise<void> {
    if (this.#session || !["ready", "ended", "error"].includes(this.#state)) return;
    const profile = this.#selected;
    if (!profile) return;
    const attempt = ++this.#attempt;
    this.#endRequested = false;
    this.#clearTranscript();
    this.#hideAlert();

    this.#setState("checking_mic");
    try {
      const stream = await this.#deps.getMicrophone();
      for (const track of stream.getTracks()) track.stop();
    } catch (error) {
      this.#fail(failureFromMediaError(error));
      return;
    }

    this.#setState("starting");
    let grant: SessionGrant | null;
    try {
      grant = parseGrant(
        await this.#deps.caller.post<unknown>(`${METHOD}.create_session`, {
          profile,
          page_url: this.#embedContext?.page_url ?? window.location.href,
          context: this.#embedContext
            ? { ...this.#embedContext.data, page_title: this.#embedContext.page_title, source: "widget" }
            : {},
        }),
      );
    } catch (error) {
      this.#fail(error instanceof FrappeCallError ? failureFromCall(error) : failure("server_error"));
      return;
    }
    if (attempt !== this.#attempt || this.#endRequested) {
      // Ended while the session was being created: hang it up rather than leave it waiting.
      if (grant) {
        void this.#deps.caller
          .post(`${METHOD}.end_session`, { session_id: grant.session_id, client_token: grant.client_token })
          .catch(() => undefined);
      }
      return;
    }
    if (!grant) {
      this.#fail(failure("server_error"));
      return;
    }
    this.#grant = grant;
    this.#reporter = new DisplayReporter(this.#deps.caller, grant);
    this.#join(grant);
  }

  #join(grant: SessionGrant): void {
    const session = this.#deps.createSession((fault) => this.#onSessionFault(session, fault));
    this.#session = session;
    session.addEventListener("status", () => this.#onSessionStatus(session));
    session.addEventListener("transcripts", () => this.#onTranscripts(session));
    this.#setState("connecting");
    this.#startClock();
    this.#connectTimer = setTimeout(() => {
      if (this.#session === session && this.#state === "connecting") this.#fail(failure("connect_timeout"));
    }, CONNECT_TIMEOUT_MS);
    try {
      session.joinCall(grant.join_url);
    } catch {
      this.#fail(failure("connection_lost"));
    }
  }

  #onSessionStatus(session: UltravoxSession): void {
    if (session !== this.#session) return;
    const status = session.status;
    this.#reporter?.status(status);
    switch (status) {
      case UltravoxSessionStatus.CONNECTING:
        this.#setState("connecting");
        return;
      case UltravoxSessionStatus.IDLE:
      case UltravoxSessionStatus.LISTENING:
      case UltravoxSessionStatus.THINKING:
      case UltravoxSessionStatus.SPEAKING:
        this.#wasLive = true;
        if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
        this.#connectTimer = null;
        this.#setState(status);
        return;
      case UltravoxSessionStatus.DISCONNECTING:
        this.#setState("ending");
        return;
      case UltravoxSessionStatus.DISCONNECTED: {
        if (this.#endRequested || this.#wasLive) this.#finish(failure("call_ended"));
        else this.#fail(failure("connection_lost"));
        return;
      }
    }
  }

  #onSessionFault(session: UltravoxSession, fault: SessionFault): void {
    // Leaving a call aborts what the SDK was still connecting: that is no failure.
    if (session !== this.#session || this.#endRequested) return;
    console.error(`voice-agent: ${fault.kind === "audio" ? "the assistant's audio could not play" : "the conversation could not connect"}`, fault.error);
    this.#fail(failure(fault.kind === "audio" ? "audio_blocked" : "connection_lost"));
  }

  #startClock(): void {
    this.#joinedAt = this.#deps.now();
    this.#tick = setInterval(() => this.#renderTimer(), 1000);
    this.#renderTimer();
  }

  #renderTimer(): void {
    const grant = this.#grant;
    if (!grant || this.#joinedAt === null) {
      this.#el.timer.hidden = true;
      return;
    }
    const elapsed = (this.#deps.now() - this.#joinedAt) / 1000;
    const time = describeTime(elapsed, grant.max_duration_sec);
    this.#el.timer.hidden = false;
    this.#el.timer.textContent = time.text;
    this.#el.timer.setAttribute("aria-label", time.label);
    this.#el.timer.classList.toggle("va-timer-warn", time.nearEnd);
    if (elapsed >= grant.max_duration_sec) void this.end();
  }

  #onTranscripts(session: UltravoxSession): void {
    if (session !== this.#session) return;
    const lines = session.transcripts.filter((t): t is Transcript => t !== null).map(toLine);
    this.#renderTranscript(lines);
    this.#reporter?.transcripts(lines);
  }

  #renderTranscript(lines: readonly TranscriptLine[]): void {
    const list = this.#el.transcript;
    for (const line of lines) {
      const id = `va-line-${line.ordinal}`;
      let item = list.querySelector<HTMLLIElement>(`#${id}`);
      if (!item) {
        item = document.createElement("li");
        item.id = id;
        const who = document.createElement("span");
        who.className = "va-line-who";
        const text = document.createElement("span");
        text.className = "va-line-text";
        item.append(who, text);
        list.append(item);
      }
      item.className = `va-line va-line-${line.speaker}${line.isFinal ? "" : " va-line-partial"}`;
      const [who, text] = [item.children[0], item.children[1]];
      if (who) who.textContent = line.speaker === "agent" ? "Assistant" : "You";
      if (text && text.textContent !== line.text) text.textContent = line.text;
    }
    this.#el.transcriptEmpty.hidden = list.children.length > 0;
    list.scrollTop = list.scrollHeight;
  }

  #clearTranscript(): void {
    this.#el.transcript.replaceChildren();
    this.#el.transcriptEmpty.hidden = false;
  }

  async end(): Promise<void> {
    const session = this.#session;
    const grant = this.#grant;
    if (this.#endRequested) return;
    this.#endRequested = true;
    if (!session) {
      if (!["ready", "ended", "error"].includes(this.#state)) this.#finish(failure("call_ended"));
      return;
    }
    this.#setState("ending");
    await session.leaveCall().catch(() => undefined);
    if (this.#session === session) this.#finish(failure("call_ended"));
    if (grant) {
      await this.#deps.caller
        .post(`${METHOD}.end_session`, { session_id: grant.session_id, client_token: grant.client_token })
        .catch(() => undefined);
    }
  }

  #finish(outcome: Failure): void {
    this.#teardown();
    this.#showAlert(outcome, "info");
    this.#setState("ended");
  }

  #fail(outcome: Failure): void {
    const session = this.#session;
    const grant = this.#grant;
    this.#endRequested = true;
    this.#teardown();
    if (session) {
      void session.leaveCall().catch(() => undefined);
      if (grant) {
        void this.#deps.caller
          .post(`${METHOD}.end_session`, { session_id: grant.session_id, client_token: grant.client_token })
          .catch(() => undefined);
      }
    }
    this.#showAlert(outcome, "error");
    this.#setState("error");
  }

  #teardown(): void {
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#connectTimer = null;
    this.#tick = null;
    void this.#reporter?.close();
    this.#reporter = null;
    this.#session = null;
    this.#grant = null;
    this.#joinedAt = null;
    this.#wasLive = false;
    this.#el.timer.hidden = true;
    this.#setMuted(this.#el.muteMic, false, "microphone");
    this.#setMuted(this.#el.muteSpeaker, false, "speaker");
  }

  #toggleMic(): void {
    const session = this.#session;
    if (!session) return;
    if (session.isMicMuted) session.unmuteMic();
    else session.muteMic();
    this.#setMuted(this.#el.muteMic, session.isMicMuted, "microphone");
  }

  #toggleSpeaker(): void {
    const session = this.#session;
    if (!session) return;
    if (session.isSpeakerMuted) session.unmuteSpeaker();
    else session.muteSpeaker();
    this.#setMuted(this.#el.muteSpeaker, session.isSpeakerMuted, "speaker");
  }

  #setMuted(button: HTMLButtonElement, muted: boolean, what: string): void {
    button.setAttribute("aria-pressed", String(muted));
    button.textContent = muted ? `Unmute ${what}` : `Mute ${what}`;
  }

  #setState(state: PageState): void {
    const focused = document.activeElement;
    const keyboardOnControls =
      focused === this.#el.start ||
      focused === this.#el.end ||
      (this.#focusOnControls && (focused === null || focused === document.body));
    this.#state = state;
    const busy = !["ready", "ended", "error"].includes(state);
    const inCall = this.#session !== null && (state === "connecting" || LIVE_STATES.has(state));
    this.#el.indicator.dataset.state = state;
    this.#el.app.dataset.state = state;
    if (this.#el.status.textContent !== STATE_LABEL[state]) this.#el.status.textContent = STATE_LABEL[state];
    this.#el.start.hidden = busy;
    this.#el.start.disabled = this.#config.profiles.length === 0;
    this.#el.start.textContent = state === "ready" ? "Start conversation" : "Start again";
    this.#el.end.hidden = !busy;
    this.#el.end.disabled = state === "ending";
    this.#el.muteMic.disabled = !inCall;
    this.#el.muteSpeaker.disabled = !inCall;
    for (const input of this.#el.profiles.querySelectorAll<HTMLInputElement>("input")) input.disabled = busy;
    // Keep keyboard users on the button that replaced the one they pressed.
    this.#focusOnControls = keyboardOnControls;
    if (keyboardOnControls) {
      const target = busy ? this.#el.end : this.#el.start;
      if (document.activeElement !== target) target.focus();
    }
  }

  #showAlert(outcome: Failure, tone: "error" | "info"): void {
    this.#el.alert.hidden = false;
    this.#el.alert.dataset.tone = tone;
    this.#el.alert.dataset.kind = outcome.kind;
    this.#el.alertTitle.textContent = outcome.title;
    this.#el.alertDetail.textContent = outcome.detail;
  }

  #hideAlert(): void {
    this.#el.alert.hidden = true;
    delete this.#el.alert.dataset.kind;
  }

  #listenToWidget(): void {
    const allowed = this.#config.allowedOrigins;
    window.addEventListener("message", (event: MessageEvent) => {
      if (!isAllowedOrigin(event.origin, allowed)) return;
      if (event.source !== window.parent && event.source !== window.opener) return;
      const context = parseContextMessage(event.data);
      if (context) {
        this.#embedContext = context;
        this.#el.app.dataset.embedOrigin = event.origin;
      }
    });
    document.addEventListener("keydown", (event) => {
      const origin = this.#el.app.dataset.embedOrigin;
      if (event.key !== "Escape" || !origin) return;
      const message: PageToWidget = { type: ESCAPE };
      window.parent.postMessage(message, origin);
    });
    this.#announceReady();
  }

  /** targetOrigin is each allowed origin in turn: the browser delivers only to the one the parent really has. */
  #announceReady(): void {
    const target: Window | null = window.opener ?? (window.parent !== window ? window.parent : null);
    if (!target) return;
    const message: PageToWidget = { type: READY };
    for (const origin of this.#config.allowedOrigins) {
      try {
        target.postMessage(message, origin);
      } catch {
        // An allow-list entry that is not a valid origin: nothing to deliver to.
      }
    }
  }
}

function toLine(t: Transcript): TranscriptLine {
  return {
    speaker: t.speaker === "agent" ? "agent" : "user",
    text: t.text,
    ordinal: t.ordinal,
    isFinal: t.isFinal,
    medium: t.medium === "text" ? "text" : "voice",
  };
}
