// The incoming WhatsApp call popups in the page (the state machine is incoming-call.ts) and the ring
// sound. Frappe desk CSS variables, so the light and dark themes both apply.
import type { PopupActions, PopupState, PopupView } from "./incoming-call";
import type { IncomingWhatsAppCall } from "./whatsapp-calls-api";
import { formatDuration } from "../shared/duration";
import { __ } from "../shared/i18n";
import { formatFullTime, formatMessageTime } from "../whatsapp/core/format";

export function deskFormLink(doctype: string, name: string): string {
  return `/app/${doctype.toLowerCase().replace(/ /g, "-")}/${encodeURIComponent(name)}`;
}

let popupSeq = 0;
let stack: HTMLElement | undefined;

function stackElement(container: HTMLElement): HTMLElement {
  if (stack?.isConnected) return stack;
  ensureStyles();
  stack = document.createElement("div");
  stack.className = "va-inc-stack";
  container.append(stack);
  return stack;
}

/** A popup in the stack at the top right of the page; the newest below the others. */
export function domPopupView(call: IncomingWhatsAppCall, actions: PopupActions, container: HTMLElement = document.body): PopupView {
  const id = `va-inc-${++popupSeq}`;
  const root = document.createElement("section");
  root.className = "va-inc";
  root.setAttribute("role", "alertdialog");
  root.setAttribute("aria-labelledby", `${id}-title`);
  root.setAttribute("aria-describedby", `${id}-desc`);
  root.dataset.call = call.call;
  root.innerHTML = `
    <div class="va-inc-head">
      <span class="va-inc-pulse" aria-hidden="true"></span>
      <div class="va-inc-heading">
        <p class="va-inc-kicker" data-ref="kicker"></p>
        <h2 class="va-inc-title" id="${id}-title" data-ref="title"></h2>
        <p class="va-inc-sub" data-ref="number"></p>
      </div>
      <span class="va-inc-countdown" data-ref="countdown"></span>
    </div>
    <div class="va-inc-body" id="${id}-desc">
      <p class="va-inc-line" data-ref="party"></p>
      <p class="va-inc-line" data-ref="account"></p>
      <ol class="va-inc-msgs" data-ref="messages"></ol>
    </div>
    <div class="va-inc-outcome" role="status" data-ref="outcome" hidden><strong data-ref="outcomeTitle"></strong> <span data-ref="outcomeDetail"></span></div>
    <p class="va-inc-status" role="status" aria-live="polite" data-ref="status"></p>
    <div class="va-inc-actions">
      <button type="button" class="btn btn-default btn-sm va-inc-btn va-inc-decline" data-ref="decline"></button>
      <button type="button" class="btn btn-sm va-inc-btn va-inc-accept" data-ref="accept"></button>
      <button type="button" class="btn btn-default btn-sm va-inc-btn" data-ref="close" hidden></button>
    </div>`;
  const el: Record<string, HTMLElement> = {};
  for (const node of root.querySelectorAll<HTMLElement>("[data-ref]")) el[node.dataset.ref as string] = node;
  const ref = (name: string): HTMLElement => el[name] as HTMLElement;
  ref("kicker").textContent = __("Incoming WhatsApp call");
  ref("accept").textContent = __("Accept");
  ref("decline").textContent = __("Decline");
  ref("close").textContent = __("Close");
  ref("messages").setAttribute("aria-label", __("Last messages"));
  ref("accept").addEventListener("click", () => actions.accept());
  ref("decline").addEventListener("click", () => actions.decline());
  ref("close").addEventListener("click", () => actions.close());
  stackElement(container).append(root);
  // An alertdialog takes the focus, unless the user is busy in a field of the page.
  const active = document.activeElement;
  if (!active || active === document.body) ref("accept").focus();
  const hasFocus = (): boolean => root.contains(document.activeElement);

  return {
    show(c) {
      const caller = c.caller_name || c.phone || `+${c.wa_id}`;
      ref("title").textContent = caller;
      const number = c.phone || `+${c.wa_id}`;
      ref("number").textContent = number !== caller ? number : "";
      ref("number").hidden = !ref("number").textContent;
      const party = ref("party");
      party.replaceChildren();
      if (c.party) {
        const link = document.createElement("a");
        link.href = deskFormLink(c.party.doctype, c.party.name);
        link.textContent = c.party.title || c.party.name;
        party.append(`${__(c.party.doctype)}: `, link);
      }
      party.hidden = !c.party;
      ref("account").textContent = __("To {0}", [c.account_title || c.account]);
      ref("messages").replaceChildren(
        ...c.last_messages.map((m) => {
          const li = document.createElement("li");
          li.dataset.direction = m.direction;
          const who = document.createElement("span");
          who.className = "va-inc-who";
          who.textContent = m.direction === "inbound" ? __("Customer") : __("Us");
          const text = document.createElement("span");
          text.className = "va-inc-text";
          text.textContent = m.text || `[${__(m.kind)}]`;
          text.title = text.textContent;
          li.append(who, text);
          if (m.at) {
            const at = document.createElement("time");
            at.dateTime = m.at;
            // In the desk user's time zone, as the inbox and the record's panel show the same messages.
            at.textContent = formatMessageTime(m.at, Date.now());
            at.title = formatFullTime(m.at);
            li.append(at);
          }
          return li;
        }),
      );
      ref("messages").hidden = c.last_messages.length === 0;
    },
    setState(state: PopupState) {
      root.dataset.state = state;
      const open = state === "ringing";
      ref("accept").hidden = !(open || state === "accepting");
      ref("decline").hidden = !(open || state === "declining");
      ref("accept").toggleAttribute("disabled", !open);
      ref("decline").toggleAttribute("disabled", !open);
      const focused = hasFocus();
      ref("close").hidden = state !== "refused";
      if (state === "refused" && focused) ref("close").focus();
    },
    countdown(left) {
      const box = ref("countdown");
      box.hidden = left === null;
      if (left === null) return;
      const text = formatDuration(left);
      if (box.textContent !== text) box.textContent = text;
      box.setAttribute("aria-label", __("Rings for {0} more", [text]));
    },
    outcome(title, detail) {
      ref("outcome").hidden = false;
      ref("outcomeTitle").textContent = title;
      ref("outcomeDetail").textContent = detail;
      ref("countdown").hidden = true;
    },
    status(text) {
      ref("status").textContent = text;
    },
    remove() {
      const focused = hasFocus();
      root.remove();
      // Keyboard users land on the next ringing call, if any.
      if (focused) stack?.querySelector<HTMLElement>('.va-inc[data-state="ringing"] .va-inc-accept')?.focus();
      if (stack && !stack.childElementCount) {
        stack.remove();
        stack = undefined;
      }
    },
  };
}

// Frappe desk CSS variables first (light and dark themes), fallbacks outside the desk.
const CSS = `
.va-inc-stack { position: fixed; top: calc(var(--navbar-height, 48px) + 12px); right: 16px; z-index: 1060;
  display: flex; flex-direction: column; gap: 10px; width: 340px; max-width: calc(100vw - 24px); max-height: calc(100vh - 80px); overflow-y: auto; }
.va-inc { box-sizing: border-box; background: var(--card-bg, #fff); color: var(--text-color, #1f272e);
  border: 1px solid var(--border-color, #e2e6e9); border-left: 4px solid var(--green-600, #30a66d);
  border-radius: var(--border-radius-lg, 12px); box-shadow: var(--shadow-2xl, 0 8px 30px rgba(0,0,0,.18));
  font-family: var(--font-stack, -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif); font-size: 13px;
  padding: 12px 14px; display: flex; flex-direction: column; gap: 8px; }
.va-inc * { box-sizing: border-box; }
.va-inc [hidden] { display: none !important; }
.va-inc-head { display: flex; align-items: flex-start; gap: 10px; }
.va-inc-heading { flex: 1; min-width: 0; }
.va-inc-kicker { margin: 0; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--text-muted, #6b7280); }
.va-inc-title { margin: 2px 0 0; font-size: 15px; font-weight: 600; line-height: 1.3; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--heading-color, inherit); }
.va-inc-sub { margin: 0; color: var(--text-muted, #6b7280); }
.va-inc-pulse { flex: none; width: 10px; height: 10px; margin-top: 5px; border-radius: 50%; background: var(--green-600, #30a66d); animation: va-inc-pulse 1.2s infinite; }
.va-inc:not([data-state="ringing"]):not([data-state="accepting"]) .va-inc-pulse { animation: none; background: var(--text-muted, #6b7280); }
@keyframes va-inc-pulse { 50% { opacity: .3; } }
@media (prefers-reduced-motion: reduce) { .va-inc-pulse { animation: none !important; } }
.va-inc-countdown { font-variant-numeric: tabular-nums; font-weight: 600; color: var(--text-muted, #6b7280); }
.va-inc-body { display: flex; flex-direction: column; gap: 4px; }
.va-inc-line { margin: 0; }
.va-inc-line a { color: var(--text-color, inherit); font-weight: 600; text-decoration: underline; }
.va-inc-msgs { list-style: none; margin: 4px 0 0; padding: 6px 8px; border-radius: var(--border-radius, 8px); background: var(--subtle-fg, #f3f3f3);
  display: flex; flex-direction: column; gap: 3px; max-height: 120px; overflow-y: auto; }
.va-inc-msgs li { display: flex; gap: 6px; align-items: baseline; }
.va-inc-who { flex: none; font-size: 11px; color: var(--text-muted, #6b7280); min-width: 56px; }
.va-inc-text { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.va-inc-msgs time { flex: none; font-size: 11px; color: var(--text-muted, #6b7280); }
.va-inc-outcome { border-radius: var(--border-radius, 8px); padding: 6px 8px; background: var(--subtle-fg, #f3f3f3); }
.va-inc[data-state="refused"] .va-inc-outcome { background: var(--alert-bg-danger, #fff0f0); color: var(--alert-text-danger, #9b1c1c); }
.va-inc-status { margin: 0; color: var(--text-muted, #6b7280); }
.va-inc-status:empty { display: none; }
.va-inc-actions { display: flex; gap: 8px; justify-content: flex-end; }
.va-inc .va-inc-btn { font: inherit; cursor: pointer; padding: 5px 14px; border-radius: var(--border-radius, 6px);
  border: 1px solid var(--border-color, #e2e6e9); background: var(--btn-default-bg, #f4f5f6); color: var(--text-color, #1f272e); }
.va-inc .va-inc-accept { background: var(--green-600, #30a66d); border-color: var(--green-600, #30a66d); color: #fff; font-weight: 600; }
.va-inc .va-inc-decline { color: var(--alert-text-danger, #cc2929); }
.va-inc .va-inc-btn:disabled { opacity: .55; cursor: default; }
.va-inc .va-inc-btn:focus-visible { outline: 2px solid var(--primary, #2490ef); outline-offset: 2px; }
`;

let stylesInjected = false;
function ensureStyles(): void {
  if (stylesInjected || document.getElementById("va-incoming-call-css")) return;
  stylesInjected = true;
  const style = document.createElement("style");
  style.id = "va-incoming-call-css";
  style.textContent = CSS;
  document.head.append(style);
}
