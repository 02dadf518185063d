// Small DOM helpers: elements are built with properties and text nodes, never from HTML strings
// holding data (a customer's message is text, whatever it contains).

type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Record<string, AttrValue | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (typeof value === "function") {
      el.addEventListener(key.replace(/^on/, ""), value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(key, String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "number" ? String(child) : child);
  }
}

let seq = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix: string): string {
  return `va-wa-${prefix}-${++seq}`;
}

const ICONS: Record<string, string> = {
  clock: '<circle cx="8" cy="8" r="6.2" fill="none" stroke="currentColor" stroke-width="1.4"/><path d="M8 4.6V8l2.3 1.5" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round"/>',
  check: '<path d="M2.5 8.6l3.2 3.1L13.5 4" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/>',
  checks: '<path d="M.8 8.6l3.1 3.1L11.2 4M7 11.2l.6.5L14.9 4" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"/>',
  alert: '<circle cx="8" cy="8" r="6.3" fill="none" stroke="currentColor" stroke-width="1.5"/><path d="M8 4.6v4.2" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/><circle cx="8" cy="11.2" r=".95" fill="currentColor"/>',
  attach: '<path d="M13.2 7.6l-5.3 5.3a3.4 3.4 0 01-4.8-4.8l5.6-5.6a2.3 2.3 0 013.2 3.2L6.3 11.3a1.1 1.1 0 01-1.6-1.6l4.9-4.9" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linecap="round"/>',
  send: '<path d="M2 8l11.5-5.3L9.2 14 7.4 9 2 8z" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linejoin="round"/><path d="M7.4 9l6.1-6.3" stroke="currentColor" stroke-width="1.4"/>',
  reply: '<path d="M6.5 3.5L2.5 7.5l4 4" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"/><path d="M2.8 7.5H9a4.5 4.5 0 014.5 4.5v.5" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"/>',
  close: '<path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>',
  template: '<rect x="2.5" y="2" width="11" height="12" rx="1.6" fill="none" stroke="currentColor" stroke-width="1.3"/><path d="M5 5.5h6M5 8h6M5 10.5h3.5" stroke="currentColor" stroke-width="1.3" stroke-linecap="round"/>',
  list: '<path d="M5.5 4.5h8M5.5 8h8M5.5 11.5h8" stroke="currentColor" stroke-width="1.4" stroke-linecap="round"/><circle cx="2.8" cy="4.5" r="1" fill="currentColor"/><circle cx="2.8" cy="8" r="1" fill="currentColor"/><circle cx="2.8" cy="11.5" r="1" fill="currentColor"/>',
  file: '<path d="M4 1.8h5.2L12.5 5v9.2H4z" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"/><path d="M9 1.8V5.3h3.5" fill="none" stroke="currentColor" stroke-width="1.3"/>',
  pin: '<path d="M8 14.5s4.5-4.3 4.5-8a4.5 4.5 0 00-9 0c0 3.7 4.5 8 4.5 8z" fill="none" stroke="currentColor" stroke-width="1.3"/><circle cx="8" cy="6.4" r="1.6" fill="none" stroke="currentColor" stroke-width="1.3"/>',
  back: '<path d="M10 3L5 8l5 5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/>',
  whatsapp: '<path d="M8 1.6a6.3 6.3 0 00-5.4 9.6L1.8 14.4l3.3-.8A6.3 6.3 0 108 1.6z" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"/><path d="M5.7 5.2c.2-.4.5-.4.7-.4h.3c.1 0 .3 0 .4.3l.5 1.2c0 .1.1.3 0 .4l-.3.4c-.1.1-.1.3 0 .4.3.5.9 1.2 1.8 1.6.2.1.3 0 .4-.1l.4-.5c.1-.1.3-.2.4-.1l1.2.6c.2.1.3.2.3.3 0 .4-.1.8-.5 1.1-.4.3-1 .4-1.6.2A5.6 5.6 0 016 7.7c-.5-.7-.6-1.6-.3-2.5z" fill="currentColor"/>',
};

/** A decorative 16×16 icon (aria-hidden); the control around it carries the words. */
export function icon(name: keyof typeof ICONS | string, size = 16): SVGSVGElement {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("va-wa-icon");
  svg.innerHTML = ICONS[name] ?? "";
  return svg;
}

/** Text for screen readers only. */
export function srOnly(text: string): HTMLSpanElement {
  return h("span", { class: "va-wa-sr" }, text);
}

/**
 * Arrow keys (and Home/End) move focus among `items` of a container, which is one Tab stop:
 * the current item has tabindex=0, the others -1.
 */
export function rovingFocus(container: HTMLElement, itemSelector: string): { refresh(): void } {
  const items = (): HTMLElement[] => [...container.querySelectorAll<HTMLElement>(itemSelector)].filter((el) => !el.hidden);
  const refresh = (): void => {
    const all = items();
    if (!all.length) return;
    const current = all.find((el) => el.tabIndex === 0) ?? all[all.length - 1];
    for (const el of all) el.tabIndex = el === current ? 0 : -1;
  };
  container.addEventListener("focusin", (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>(itemSelector);
    if (!target || !container.contains(target)) return;
    for (const el of items()) el.tabIndex = el === target ? 0 : -1;
  });
  container.addEventListener("keydown", (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>(itemSelector);
    if (!target || target !== event.target) return;
    const all = items();
    const at = all.indexOf(target);
    let next: HTMLElement | undefined;
    if (event.key === "ArrowDown") next = all[at + 1];
    else if (event.key === "ArrowUp") next = all[at - 1];
    else if (event.key === "Home") next = all[0];
    else if (event.key === "End") next = all[all.length - 1];
    else return;
    event.preventDefault();
    next?.focus();
  });
  return { refresh };
}

/** Calls `fn` at most once per `ms` (the first call at once). */
export function throttle(fn: () => void, ms: number): () => void {
  let last = -Infinity;
  return () => {
    const now = Date.now();
    if (now - last < ms) return;
    last = now;
    fn();
  };
}

/** Calls `fn` `ms` after the last call. */
export function debounce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
  run.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return run;
}

/** The server's sentence of a failed call, or a generic one. */
export function errorText(error: unknown, fallback: string): string {
  if (error && typeof error === "object" && "message" in error) {
    const message = String((error as { message: unknown }).message);
    if (message && !/^Request failed \(HTTP \d+\)$/.test(message)) return message;
  }
  return fallback;
}
