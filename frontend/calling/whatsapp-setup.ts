// The call panel's WhatsApp mode before the call (flow B of docs/whatsapp-calls.md): the customer's call
// permission as WhatsApp has it now, Ask permission when there is none (the answer arrives as the
// `whatsapp_call_permission` event), and Call on WhatsApp once allowed; then the call panel takes over
// with start_whatsapp_call's join answer.
import type { CallLimit, CallPermission, JoinAnswer, WhatsAppCallsApi } from "./whatsapp-calls-api";
import { ensurePanelStyles, frappeErrorText } from "./call-panel";
import { __ } from "../shared/i18n";

export type PermissionKind = "none" | "temporary" | "permanent" | "unknown";

export interface PermissionSummary {
  kind: PermissionKind;
  /** The permission in words: none, temporary until …, permanent. */
  state: string;
  /** The calls WhatsApp still allows (Graph's figures), when known. */
  allowance: string | null;
  /** What else the user should know: calling off, asked and waiting, declined, why asking is not possible. */
  notes: string[];
  canCall: boolean;
  canAsk: boolean;
}

export interface WhatsAppAccountChoice {
  name: string;
  title: string;
}

/** PT24H → "24 hours", P7D → "7 days": Graph's limit periods. */
export function periodText(iso: string): string {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(iso);
  if (!m) return iso;
  const [, days, hours, minutes] = m;
  if (days && !hours && !minutes) return days === "1" ? __("1 day") : __("{0} days", [days]);
  if (hours && !days && !minutes) return hours === "1" ? __("1 hour") : __("{0} hours", [hours]);
  if (minutes && !days && !hours) return __("{0} minutes", [minutes]);
  return iso;
}

function allowanceText(p: CallPermission, when: (iso: string) => string): string | null {
  if (p.calls_remaining === null) return null;
  const limit: CallLimit | undefined = p.limits.start_call[0];
  if (p.calls_remaining <= 0) {
    return p.next_call_at ? __("No calls left until {0}", [when(p.next_call_at)]) : __("No calls left for now");
  }
  if (limit) return __("{0} of {1} calls left per {2}", [p.calls_remaining, limit.max_allowed, periodText(limit.time_period)]);
  return __("{0} calls left", [p.calls_remaining]);
}

/** What the WhatsApp mode shows for a permission (get_call_permission, request_call_permission, the event). */
export function permissionSummary(p: CallPermission, when: (iso: string) => string = defaultWhen): PermissionSummary {
  const kind: PermissionKind =
    p.status === "Permanent" ? "permanent" : p.status === "Temporary" && p.expires_at ? "temporary" : p.status === null ? "unknown" : "none";
  const granted = kind === "permanent" || kind === "temporary";
  const state =
    kind === "permanent"
      ? __("Permanent: the customer allows calls")
      : kind === "temporary"
        ? __("Temporary: calls allowed until {0}", [when(p.expires_at as string)])
        : kind === "none"
          ? __("None: the customer has not allowed calls")
          : __("None yet: never asked");
  const notes: string[] = [];
  if (!p.calling_enabled) notes.push(__("Calling is off for this WhatsApp number."));
  if (granted && p.can_call === false) {
    notes.push(p.next_call_at ? __("WhatsApp allows the next call from {0}.", [when(p.next_call_at)]) : __("WhatsApp does not allow a call now."));
  }
  const asked = p.requested_at && (!p.answered_at || Date.parse(p.answered_at) < Date.parse(p.requested_at));
  if (!granted && asked) notes.push(__("Permission asked {0}: waiting for the customer's answer.", [when(p.requested_at as string)]));
  else if (!granted && p.answer === "Declined" && p.answered_at) notes.push(__("The customer declined on {0}.", [when(p.answered_at)]));
  let canAsk = !granted && p.calling_enabled;
  if (canAsk && !p.window_open) {
    canAsk = false;
    notes.push(__("A permission request can only be sent within 24 hours of the customer's last message."));
  }
  // Asked and waiting: that says it; Graph's request limit is only news when nothing is pending.
  if (canAsk && p.can_request === false && asked) canAsk = false;
  if (canAsk && p.can_request === false) {
    canAsk = false;
    notes.push(
      p.next_request_at
        ? __("WhatsApp's limit of permission requests is reached: ask again after {0}.", [when(p.next_request_at)])
        : __("WhatsApp's limit of permission requests is reached."),
    );
  }
  return { kind, state, allowance: allowanceText(p, when), notes, canCall: granted && p.calling_enabled && p.can_call !== false, canAsk };
}

function defaultWhen(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export interface WhatsAppSetupOptions {
  title: string;
  referenceDoctype: string;
  referenceName: string;
  accounts: WhatsAppAccountChoice[];
  api: Pick<WhatsAppCallsApi, "getPermission" | "requestPermission" | "startCall">;
  /** start_whatsapp_call answered: the call panel takes over. */
  onCall(answer: JoinAnswer): void;
  onClose?(): void;
  container?: HTMLElement;
  when?: (iso: string) => string;
}

let setupSeq = 0;

/** The panel before a WhatsApp call. close() is idempotent. */
export class WhatsAppCallSetup {
  readonly root: HTMLElement;
  #opts: WhatsAppSetupOptions;
  #el: Record<string, HTMLElement> = {};
  #permission: CallPermission | undefined;
  #busy = false;
  #closed = false;
  #loadSeq = 0;

  constructor(opts: WhatsAppSetupOptions) {
    this.#opts = opts;
    ensurePanelStyles();
    const id = `va-wa-setup-${++setupSeq}`;
    this.root = document.createElement("section");
    this.root.className = "va-call-panel va-call-floating va-wa-call-setup";
    this.root.dataset.mode = "whatsapp";
    this.root.dataset.status = "connecting";
    this.root.setAttribute("aria-labelledby", `${id}-title`);
    this.root.innerHTML = `
      <div class="va-cp-head">
        <span class="va-cp-dot" aria-hidden="true"></span>
        <div class="va-cp-heading">
          <h2 class="va-cp-title" id="${id}-title"></h2>
          <p class="va-cp-status" role="status" aria-live="polite" data-ref="status"></p>
        </div>
      </div>
      <div class="va-cp-alert va-cp-alert-error" role="alert" data-ref="alert" hidden><p data-ref="alertText"></p></div>
      <label class="va-cp-field" data-ref="accountField" hidden>
        <span class="va-cp-label" data-ref="accountLabel"></span>
        <select data-ref="account"></select>
      </label>
      <p class="va-cp-note va-wa-from" data-ref="from" hidden></p>
      <dl class="va-wa-perm" data-ref="perm" hidden>
        <dt class="va-cp-label" data-ref="permLabel"></dt><dd data-ref="permState"></dd>
        <dt class="va-cp-label" data-ref="allowanceLabel"></dt><dd data-ref="allowance"></dd>
      </dl>
      <ul class="va-wa-notes" data-ref="notes"></ul>
      <div class="va-cp-actions">
        <button type="button" class="btn btn-default btn-sm va-btn" data-ref="ask" hidden></button>
        <button type="button" class="btn btn-primary btn-sm va-btn va-btn-call" data-ref="call" disabled></button>
        <button type="button" class="btn btn-default btn-sm va-btn va-btn-close" data-ref="close"></button>
      </div>`;
    for (const node of this.root.querySelectorAll<HTMLElement>("[data-ref]")) this.#el[node.dataset.ref as string] = node;
    this.root.querySelector("h2")?.append(opts.title);
    this.#ref("status").textContent = __("Reading the customer's call permission…");
    this.#ref("accountLabel").textContent = __("Call from");
    this.#ref("permLabel").textContent = __("Permission");
    this.#ref("allowanceLabel").textContent = __("Allowance");
    this.#ref("ask").textContent = __("Ask permission");
    this.#ref("call").textContent = __("Call on WhatsApp");
    this.#ref("close").textContent = __("Close");
    const select = this.#ref("account") as HTMLSelectElement;
    select.replaceChildren(...opts.accounts.map((a) => new Option(a.title || a.name, a.name)));
    this.#ref("accountField").hidden = opts.accounts.length < 2;
    select.addEventListener("change", () => void this.load(select.value));
    this.#ref("ask").addEventListener("click", () => void this.#ask());
    this.#ref("call").addEventListener("click", () => void this.#call());
    this.#ref("close").addEventListener("click", () => this.close());
    this.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
    (opts.container ?? document.body).append(this.root);
    this.#ref("close").focus();
  }

  get permission(): CallPermission | undefined {
    return this.#permission;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Reads the permission from WhatsApp (get_call_permission) for the record, from `account` if given. */
  async load(account?: string): Promise<void> {
    const seq = ++this.#loadSeq;
    this.#setBusy(true);
    this.#alert("");
    this.#ref("status").textContent = __("Reading the customer's call permission…");
    const { referenceDoctype: reference_doctype, referenceName: reference_name } = this.#opts;
    try {
      const view = await this.#opts.api.getPermission(account ? { reference_doctype, reference_name, account } : { reference_doctype, reference_name });
      if (seq !== this.#loadSeq || this.#closed) return;
      this.#show(view);
    } catch (error) {
      if (seq !== this.#loadSeq || this.#closed) return;
      this.root.dataset.permission = "error";
      this.#ref("status").textContent = __("Could not read the call permission");
      this.#alert(frappeErrorText(error));
    } finally {
      if (seq === this.#loadSeq) this.#setBusy(false);
    }
  }

  /**
   * The `whatsapp_call_permission` event: the customer answered. Its Graph figures are null; the ones
   * read before stay until the next read. Events about other conversations are not ours.
   */
  applyPermission(view: CallPermission): void {
    const before = this.#permission;
    if (this.#closed || !before || before.conversation !== view.conversation) return;
    this.#show({
      ...view,
      can_call: null,
      can_request: before.can_request,
      calls_remaining: before.calls_remaining,
      requests_remaining: before.requests_remaining,
      next_call_at: before.next_call_at,
      next_request_at: before.next_request_at,
      limits: before.limits,
    });
  }

  #show(view: CallPermission): void {
    this.#permission = view;
    this.#render(view);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.root.remove();
    this.#opts.onClose?.();
  }

  #ref(name: string): HTMLElement {
    const el = this.#el[name];
    if (!el) throw new Error(`WhatsApp call setup element ${name} missing`);
    return el;
  }

  #render(p: CallPermission): void {
    const s = permissionSummary(p, this.#opts.when);
    this.root.dataset.permission = s.kind;
    this.root.dataset.status = s.canCall ? "ready" : "waiting";
    const select = this.#ref("account") as HTMLSelectElement;
    if ([...select.options].some((o) => o.value === p.account)) select.value = p.account;
    const title = this.#opts.accounts.find((a) => a.name === p.account)?.title ?? p.account;
    const from = this.#ref("from");
    from.hidden = this.#opts.accounts.length > 1;
    from.textContent = __("From {0}", [title]);
    this.#ref("perm").hidden = false;
    this.#ref("permState").textContent = s.state;
    this.#ref("allowance").textContent = s.allowance ?? __("Not known until WhatsApp is asked");
    this.#ref("notes").replaceChildren(
      ...s.notes.map((text) => {
        const li = document.createElement("li");
        li.textContent = text;
        return li;
      }),
    );
    const granted = s.kind === "permanent" || s.kind === "temporary";
    this.#ref("ask").hidden = granted;
    this.#ref("ask").toggleAttribute("disabled", this.#busy || !s.canAsk);
    this.#ref("call").toggleAttribute("disabled", this.#busy || !s.canCall);
    this.#ref("status").textContent = s.canCall
      ? __("The customer allows calls.")
      : granted
        ? __("WhatsApp does not allow a call now.")
        : __("Ask the customer for permission before calling.");
    if (s.canCall && !this.root.contains(document.activeElement)) this.#ref("call").focus();
    else if (s.canCall && document.activeElement === this.#ref("ask")) this.#ref("call").focus();
  }

  #setBusy(busy: boolean): void {
    this.#busy = busy;
    const select = this.#ref("account") as HTMLSelectElement;
    select.disabled = busy;
    if (busy) {
      this.#ref("ask").setAttribute("disabled", "");
      this.#ref("call").setAttribute("disabled", "");
    } else if (this.#permission) this.#render(this.#permission);
  }

  #alert(text: string): void {
    this.#ref("alert").hidden = !text;
    this.#ref("alertText").textContent = text;
  }

  async #ask(): Promise<void> {
    const p = this.#permission;
    if (!p || this.#busy) return;
    this.#setBusy(true);
    this.#alert("");
    this.#ref("status").textContent = __("Sending the permission request…");
    try {
      const answer = await this.#opts.api.requestPermission(p.conversation);
      if (this.#closed) return;
      this.#show(answer.permission);
    } catch (error) {
      if (this.#closed) return;
      this.#alert(frappeErrorText(error));
    } finally {
      this.#setBusy(false);
    }
  }

  async #call(): Promise<void> {
    const p = this.#permission;
    if (!p || this.#busy) return;
    this.#setBusy(true);
    this.#alert("");
    this.#ref("status").textContent = __("Calling on WhatsApp…");
    let answer: JoinAnswer;
    try {
      answer = await this.#opts.api.startCall(this.#opts.referenceDoctype, this.#opts.referenceName, p.account);
    } catch (error) {
      if (this.#closed) return;
      this.#setBusy(false);
      this.#alert(frappeErrorText(error));
      return;
    }
    if (this.#closed) return;
    this.close();
    this.#opts.onCall(answer);
  }
}
