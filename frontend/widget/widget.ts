import { CONTEXT, ESCAPE, READY, isPageMessage, type WidgetToPage } from "../shared/embed-protocol";
import { pageUrl, type WidgetConfig } from "./config";

/** How long the framed page gets to say it is ready before we assume framing is blocked. */
const FRAME_READY_TIMEOUT_MS = 8000;

const STYLE = (c: WidgetConfig) => `
:host { all: initial; }
.launcher {
  position: fixed; bottom: 20px; ${c.position === "bottom-left" ? "left" : "right"}: 20px; z-index: 2147483000;
  display: inline-flex; align-items: center; gap: 8px; min-height: 48px; padding: 12px 20px;
  border: 0; border-radius: 999px; background: ${c.color}; color: #fff; cursor: pointer;
  font: 600 16px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  box-shadow: 0 6px 20px rgb(0 0 0 / 22%);
}
.launcher:focus-visible, .close:focus-visible, .fallback button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 3px; }
.launcher svg { width: 20px; height: 20px; fill: currentColor; }
.backdrop { position: fixed; inset: 0; z-index: 2147483001; background: rgb(15 23 42 / 45%);
  display: flex; align-items: flex-end; justify-content: ${c.position === "bottom-left" ? "flex-start" : "flex-end"}; padding: 20px; }
.backdrop[hidden] { display: none; }
.dialog { position: relative; width: min(420px, 100%); height: min(680px, 100%); background: #fff; border-radius: 14px;
  overflow: hidden; box-shadow: 0 20px 50px rgb(0 0 0 / 30%); display: flex; flex-direction: column; }
.bar { display: flex; align-items: center; justify-content: space-between; padding: 8px 8px 8px 16px;
  background: ${c.color}; color: #fff; font: 600 15px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.close { width: 40px; height: 40px; border: 0; border-radius: 8px; background: transparent; color: inherit; cursor: pointer; font-size: 24px; line-height: 1; }
.close:hover { background: rgb(255 255 255 / 18%); }
.dialog.blocked { height: auto; }
iframe { flex: 1; width: 100%; border: 0; }
.fallback { padding: 20px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1c2430; }
.fallback[hidden] { display: none; }
.fallback button { margin-top: 8px; min-height: 44px; padding: 10px 18px; border: 0; border-radius: 8px; background: ${c.color}; color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
@media (max-width: 480px) { .backdrop { padding: 0; } .dialog { width: 100%; height: 100%; border-radius: 0; } }
`;

const MIC_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3Zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2Z"/></svg>';

/** The "Talk to us" button and its overlay, inside a shadow root so the host page's CSS cannot reach it. */
export class VoiceAgentWidget {
  readonly #config: WidgetConfig;
  readonly #host: HTMLElement;
  readonly #launcher: HTMLButtonElement;
  readonly #backdrop: HTMLElement;
  readonly #dialog: HTMLElement;
  readonly #closeButton: HTMLButtonElement;
  readonly #fallback: HTMLElement;
  readonly #guardEnd: HTMLElement;
  #frame: HTMLIFrameElement | null = null;
  #popup: Window | null = null;
  #readyTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(config: WidgetConfig, doc: Document) {
    this.#config = config;
    this.#host = doc.createElement("div");
    this.#host.setAttribute("data-voice-agent-widget", "");
    const shadow = this.#host.attachShadow({ mode: "open" });
    const style = doc.createElement("style");
    style.textContent = STYLE(config);

    this.#launcher = doc.createElement("button");
    this.#launcher.type = "button";
    this.#launcher.className = "launcher";
    this.#launcher.setAttribute("aria-haspopup", "dialog");
    this.#launcher.innerHTML = MIC_ICON;
    this.#launcher.append(doc.createTextNode(config.label));

    this.#backdrop = doc.createElement("div");
    this.#backdrop.className = "backdrop";
    this.#backdrop.hidden = true;
    this.#dialog = doc.createElement("div");
    this.#dialog.className = "dialog";
    this.#dialog.setAttribute("role", "dialog");
    this.#dialog.setAttribute("aria-modal", "true");
    this.#dialog.setAttribute("aria-label", config.label);
    const bar = doc.createElement("div");
    bar.className = "bar";
    const heading = doc.createElement("span");
    heading.textContent = config.label;
    this.#closeButton = doc.createElement("button");
    this.#closeButton.type = "button";
    this.#closeButton.className = "close";
    this.#closeButton.setAttribute("aria-label", "Close");
    this.#closeButton.textContent = "×";
    bar.append(heading, this.#closeButton);
    this.#fallback = doc.createElement("div");
    this.#fallback.className = "fallback";
    this.#fallback.hidden = true;
    const fallbackText = doc.createElement("p");
    fallbackText.textContent = "The assistant could not open inside this page.";
    const fallbackButton = doc.createElement("button");
    fallbackButton.type = "button";
    fallbackButton.textContent = "Open in a new window";
    fallbackButton.addEventListener("click", () => this.#openPopup());
    this.#fallback.append(fallbackText, fallbackButton);
    // Focus guards keep Tab inside the dialog: past the last control back to the close button, and back.
    const guardStart = this.#focusGuard(doc, () => (this.#frame ?? this.#closeButton).focus());
    this.#guardEnd = this.#focusGuard(doc, () => this.#closeButton.focus());
    this.#dialog.append(guardStart, bar, this.#fallback, this.#guardEnd);
    this.#backdrop.append(this.#dialog);
    shadow.append(style, this.#launcher, this.#backdrop);

    this.#launcher.addEventListener("click", () => this.open());
    this.#closeButton.addEventListener("click", () => this.close());
    this.#backdrop.addEventListener("click", (e) => {
      if (e.target === this.#backdrop) this.close();
    });
    this.#backdrop.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.close();
    });
    doc.defaultView?.addEventListener("message", (e) => this.#onMessage(e));
  }

  #focusGuard(doc: Document, onFocus: () => void): HTMLElement {
    const guard = doc.createElement("span");
    guard.tabIndex = 0;
    guard.addEventListener("focus", onFocus);
    return guard;
  }

  mount(parent: HTMLElement): void {
    parent.append(this.#host);
  }

  get isOpen(): boolean {
    return !this.#backdrop.hidden;
  }

  open(): void {
    if (this.#config.mode === "popup") {
      this.#openPopup();
      return;
    }
    if (this.isOpen) return;
    const frame = document.createElement("iframe");
    frame.title = this.#config.label;
    frame.allow = "microphone; autoplay";
    frame.src = pageUrl(this.#config);
    this.#frame = frame;
    this.#fallback.hidden = true;
    this.#dialog.classList.remove("blocked");
    this.#guardEnd.before(frame);
    this.#backdrop.hidden = false;
    this.#launcher.setAttribute("aria-expanded", "true");
    this.#launcher.inert = true;
    this.#closeButton.focus();
    this.#readyTimer = setTimeout(() => this.#frameBlocked(), FRAME_READY_TIMEOUT_MS);
  }

  close(): void {
    if (!this.isOpen) return;
    if (this.#readyTimer !== null) clearTimeout(this.#readyTimer);
    this.#readyTimer = null;
    // Removing the frame unloads the page, which ends a running conversation.
    this.#frame?.remove();
    this.#frame = null;
    this.#backdrop.hidden = true;
    this.#launcher.setAttribute("aria-expanded", "false");
    this.#launcher.inert = false;
    this.#launcher.focus();
  }

  #frameBlocked(): void {
    this.#readyTimer = null;
    this.#frame?.remove();
    this.#frame = null;
    this.#fallback.hidden = false;
    this.#dialog.classList.add("blocked");
  }

  #openPopup(): void {
    const features = "popup,width=440,height=720";
    if (this.#popup && !this.#popup.closed) {
      this.#popup.focus();
      return;
    }
    this.#popup = window.open(pageUrl(this.#config), "voice-agent", features);
    if (this.isOpen) this.close();
  }

  #onMessage(event: MessageEvent): void {
    if (event.origin !== this.#config.siteOrigin) return;
    const fromFrame = this.#frame !== null && event.source === this.#frame.contentWindow;
    const fromPopup = this.#popup !== null && event.source === this.#popup;
    if (!fromFrame && !fromPopup) return;
    if (fromFrame && isPageMessage(event.data, ESCAPE)) {
      this.close();
      return;
    }
    if (!isPageMessage(event.data, READY)) return;
    if (fromFrame && this.#readyTimer !== null) {
      clearTimeout(this.#readyTimer);
      this.#readyTimer = null;
    }
    const message: WidgetToPage = {
      type: CONTEXT,
      context: { page_url: window.location.href, page_title: document.title, data: this.#config.context },
    };
    (event.source as Window).postMessage(message, this.#config.siteOrigin);
  }
}
