import type { MethodCaller } from "../shared/frappe-call";

const METHOD = "voice_agent.api.voice_processor";

export interface TranscriptLine {
  speaker: "user" | "agent";
  text: string;
  ordinal: number;
  isFinal: boolean;
  medium: "voice" | "text";
}

/**
 * Sends the live status and the final transcript lines to Frappe for the desk's live view.
 * Debounced: a burst of status flips or transcript deltas becomes one request. Failures are
 * swallowed: this display copy is never the record (the webhook's transcript is).
 */
export class DisplayReporter {
  #pendingStatus: string | null = null;
  #lastSentStatus: string | null = null;
  #statusTimer: ReturnType<typeof setTimeout> | null = null;
  #pendingTranscript: TranscriptLine[] | null = null;
  #lastSentTranscriptKey = "";
  #transcriptTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(
    private readonly caller: MethodCaller,
    private readonly session: { session_id: string; client_token: string },
    private readonly delays = { statusMs: 400, transcriptMs: 2000 },
  ) {}

  status(status: string): void {
    if (this.#closed) return;
    this.#pendingStatus = status;
    if (this.#statusTimer === null) {
      this.#statusTimer = setTimeout(() => this.#sendStatus(), this.delays.statusMs);
    }
  }

  transcripts(lines: readonly TranscriptLine[]): void {
    if (this.#closed) return;
    this.#pendingTranscript = lines.filter((l) => l.isFinal && l.text.trim() !== "");
    if (this.#transcriptTimer !== null) clearTimeout(this.#transcriptTimer);
    this.#transcriptTimer = setTimeout(() => this.#sendTranscript(), this.delays.transcriptMs);
  }

  /** Sends what is pending at once, then stops. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#sendStatus(), this.#sendTranscript()]);
  }

  async #sendStatus(): Promise<void> {
    if (this.#statusTimer !== null) clearTimeout(this.#statusTimer);
    this.#statusTimer = null;
    const status = this.#pendingStatus;
    this.#pendingStatus = null;
    if (status === null || status === this.#lastSentStatus) return;
    this.#lastSentStatus = status;
    await this.caller.post(`${METHOD}.update_session_status`, { ...this.session, status }).catch(() => undefined);
  }

  async #sendTranscript(): Promise<void> {
    if (this.#transcriptTimer !== null) clearTimeout(this.#transcriptTimer);
    this.#transcriptTimer = null;
    const lines = this.#pendingTranscript;
    this.#pendingTranscript = null;
    if (lines === null) return;
    const key = JSON.stringify(lines);
    if (lines.length === 0 || key === this.#lastSentTranscriptKey) return;
    this.#lastSentTranscriptKey = key;
    await this.caller
      .post(`${METHOD}.process_transcript`, { ...this.session, transcripts: lines })
      .catch(() => undefined);
  }
}
