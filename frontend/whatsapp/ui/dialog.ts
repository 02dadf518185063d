// A modal dialog of the WhatsApp UI: labelled, focus kept inside while open, Escape closes it,
// focus goes back to what opened it.
import { __ } from "../../shared/i18n";
import { h, icon, uid } from "./dom";

const FOCUSABLE = 'a[href],button:not([disabled]),input:not([disabled]):not([type="hidden"]),select:not([disabled]),textarea:not([disabled]),audio[controls],video[controls],[tabindex]:not([tabindex="-1"])';

export interface DialogOptions {
  title: string;
  className?: string;
  onClose?: () => void;
}

export class Dialog {
  readonly root: HTMLElement;
  readonly body: HTMLElement;
  readonly footer: HTMLElement;
  #box: HTMLElement;
  #opener: Element | null = null;
  #closed = false;
  #opts: DialogOptions;

  constructor(opts: DialogOptions) {
    this.#opts = opts;
    const titleId = uid("dialog-title");
    this.body = h("div", { class: "va-wa-dialog-body" });
    this.footer = h("div", { class: "va-wa-dialog-footer" });
    const close = h("button", { type: "button", class: "btn btn-default btn-sm va-wa-btn va-wa-icon-btn", "aria-label": __("Close"), title: __("Close (Esc)") }, icon("close"));
    close.addEventListener("click", () => this.close());
    this.#box = h(
      "div",
      { class: `va-wa-dialog ${opts.className ?? ""}`, role: "dialog", "aria-modal": "true", "aria-labelledby": titleId },
      h("div", { class: "va-wa-dialog-head" }, h("h2", { class: "va-wa-dialog-title", id: titleId }, opts.title), close),
      this.body,
      this.footer,
    );
    this.root = h("div", { class: "va-wa va-wa-backdrop" }, this.#box);
    this.root.addEventListener("mousedown", (event) => {
      if (event.target === this.root) this.close();
    });
    this.root.addEventListener("keydown", (event) => this.#onKey(event));
  }

  open(): void {
    this.#opener = document.activeElement;
    document.body.append(this.root);
    const first = this.body.querySelector<HTMLElement>("[autofocus]") ?? this.body.querySelector<HTMLElement>(FOCUSABLE) ?? this.#box.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
  }

  get isOpen(): boolean {
    return !this.#closed && this.root.isConnected;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.root.remove();
    if (this.#opener instanceof HTMLElement && this.#opener.isConnected) this.#opener.focus();
    this.#opts.onClose?.();
  }

  #onKey(event: KeyboardEvent): void {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close();
      return;
    }
    if (event.key !== "Tab") return;
    const items = [...this.#box.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
    if (!items.length) return;
    const first = items[0] as HTMLElement;
    const last = items[items.length - 1] as HTMLElement;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }
}
