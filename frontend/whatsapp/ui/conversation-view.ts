// One conversation: its history (paged backwards, live pushes merged in), the 24-hour window,
// and what can be sent now (a text, a file, options; only a template once the window has closed).
import { __ } from "../../shared/i18n";
import type { WhatsAppApi } from "../core/api";
import { MessageHistory } from "../core/history";
import { conversationTitle, formatWaId } from "../core/inbox-state";
import { ACCEPTED_TYPES, attachmentProblem } from "../core/media";
import { botStatusText, scoreChange } from "../core/bot";
import { formatBytes, formatFullTime } from "../core/format";
import type { Conversation, Message, MessagePage, WhatsAppUpdate } from "../core/types";
import { closedWindowText, nextWindowTick, windowState, windowText, type WindowState } from "../core/window";
import { Dialog } from "./dialog";
import { debounce, errorText, h, icon, rovingFocus, throttle, uid } from "./dom";
import { InteractiveComposer } from "./interactive-composer";
import { renderMessage, type MessageContext } from "./message-item";
import { formUrl, userName } from "./realtime";
import { TemplatePicker } from "./template-picker";

/** Messages per page of history. */
export const PAGE = 30;
const TYPING_EVERY_MS = 20_000;
const NEAR_BOTTOM_PX = 80;
const PARTY_DOCTYPES = ["Contact", "Lead", "Customer", "CRM Lead", "CRM Deal"];

export interface ConversationViewOptions {
  api: WhatsAppApi;
  conversation: Conversation;
  /** The session user (frappe.session.user), for "Assign to me". */
  me: string;
  /** Assignment controls (the shared inbox). */
  showAssignment?: boolean;
  /** A "back" button (the inbox on a narrow screen). */
  onBack?(): void;
  /** The conversation changed (read, assigned, linked, new message): lists beside it follow. */
  onConversation?(conversation: Conversation): void;
  /** Open the template picker at once when only a template can be sent (a conversation just started). */
  offerTemplate?: boolean;
  /** The newest page, when it came with the conversation list: the first load asks nobody. */
  firstPage?: MessagePage;
  /** Users to offer in "Assign to…" (those seen in the inbox). */
  knownUsers?(): string[];
}

export class ConversationView {
  readonly root: HTMLElement;
  #opts: ConversationViewOptions;
  #conversation: Conversation;
  #history = new MessageHistory();
  #items = new Map<string, HTMLLIElement>();
  #el: Record<string, HTMLElement> = {};
  #active = false;
  #destroyed = false;
  #loadingOlder = false;
  #sending = false;
  #replyTo: Message | null = null;
  #attachment: File | null = null;
  #window: WindowState;
  #windowTimer: ReturnType<typeof setTimeout> | undefined;
  #openDialog: Dialog | null = null;
  #observer: IntersectionObserver | undefined;
  #typing: () => void;
  #markReadSoon: ReturnType<typeof debounce>;
  #roving: { refresh(): void };
  /** Whether the history follows its end (the user is at the bottom), as content grows. */
  #pinned = true;
  /** scrollTop as this view last set it: the scroll event of its own scrolling says nothing of the user. */
  #autoTop = -1;
  #headerKey = "";
  #botKey = "";
  #thumbUrl: string | null = null;
  #resize: ResizeObserver | undefined;
  #onVisibility = (): void => {
    if (document.visibilityState === "visible") this.#maybeMarkRead();
  };

  constructor(opts: ConversationViewOptions) {
    this.#opts = opts;
    this.#conversation = opts.conversation;
    this.#window = windowState(opts.conversation.window_ends_at, Date.now());
    this.#typing = throttle(() => void opts.api.typing(this.#conversation.name).catch(() => undefined), TYPING_EVERY_MS);
    this.#markReadSoon = debounce(() => this.#maybeMarkRead(), 600);
    this.root = this.#build();
    this.#roving = rovingFocus(this.#ref("messages"), "li.va-wa-msg");
    // Images that load, a failure's sentence that appears: the end stays in view while pinned.
    if (typeof ResizeObserver === "function") {
      this.#resize = new ResizeObserver(() => {
        if (this.#pinned) this.#scrollToBottom();
      });
      this.#resize.observe(this.#ref("messages"));
      this.#resize.observe(this.#ref("scroller"));
    }
    document.addEventListener("visibilitychange", this.#onVisibility);
    this.#renderHeader();
    this.#renderWindow();
    this.#renderBot();
  }

  get name(): string {
    return this.#conversation.name;
  }

  get conversation(): Conversation {
    return this.#conversation;
  }

  /** Loads the latest page; marks the conversation read once it is shown. */
  async load(): Promise<void> {
    const list = this.#ref("messages");
    list.setAttribute("aria-busy", "true");
    this.#ref("state").textContent = __("Loading messages…");
    this.#ref("state").hidden = false;
    try {
      const first = this.#opts.firstPage;
      this.#opts.firstPage = undefined; // a reload asks the server again
      const page = first ?? (await this.#opts.api.getMessages(this.#conversation.name, null, PAGE));
      if (this.#destroyed) return;
      this.#setConversation(page.conversation, false);
      this.#history.addPage(page);
      this.#renderAll();
      this.#ref("state").hidden = true;
      this.#scrollToBottom();
      this.#maybeMarkRead();
      if (this.#opts.offerTemplate && !this.#window.open) this.openTemplatePicker();
    } catch (error) {
      if (this.#destroyed) return;
      const state = this.#ref("state");
      state.replaceChildren(
        h("span", {}, errorText(error, __("The messages could not be loaded."))),
        " ",
        this.#button(__("Try again"), () => void this.load()),
      );
      state.hidden = false;
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  /** Shown (or hidden) to the user: only a shown conversation is marked read. */
  setActive(active: boolean): void {
    this.#active = active;
    if (active) this.#maybeMarkRead();
  }

  /** A `whatsapp_update` push. */
  applyUpdate(update: WhatsAppUpdate): void {
    if (this.#destroyed || update.conversation.name !== this.#conversation.name) return;
    this.#setConversation(update.conversation, true);
    if (update.message) this.#applyMessage(update.message, true);
  }

  /** Focus the message box (or the template button when the window is closed). */
  focusComposer(): void {
    if (this.#window.open) this.#ref("text").focus();
    else this.#ref("chooseTemplate").focus();
  }

  openTemplatePicker(): void {
    this.#openDialog?.close();
    const picker = new TemplatePicker({
      api: this.#opts.api,
      conversation: this.#conversation.name,
      note: this.#window.open ? undefined : closedWindowText(this.#window),
      onSent: (message) => this.#sent(message),
      onClose: () => {
        if (this.#openDialog === picker.dialog) this.#openDialog = null;
        // What opened it may be gone (the "start a conversation" form): keep focus in the conversation.
        if (!this.#destroyed && (!document.activeElement || document.activeElement === document.body)) this.focusComposer();
      },
    });
    this.#openDialog = picker.dialog;
    picker.open();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#windowTimer);
    this.#markReadSoon.cancel();
    this.#observer?.disconnect();
    this.#resize?.disconnect();
    this.#openDialog?.close();
    if (this.#thumbUrl) URL.revokeObjectURL(this.#thumbUrl);
    document.removeEventListener("visibilitychange", this.#onVisibility);
    this.root.remove();
  }

  // --- building -------------------------------------------------------------------------------

  #ref(name: string): HTMLElement {
    const el = this.#el[name];
    if (!el) throw new Error(`conversation view element ${name} missing`);
    return el;
  }

  #keep<T extends HTMLElement>(name: string, el: T): T {
    this.#el[name] = el;
    return el;
  }

  #button(label: string, onClick: () => void, cls = "btn btn-default btn-xs va-wa-btn", extra: Record<string, string> = {}): HTMLButtonElement {
    const b = h("button", { type: "button", class: cls, ...extra }, label);
    b.addEventListener("click", onClick);
    return b;
  }

  #build(): HTMLElement {
    const titleId = uid("conv-title");
    const hintId = uid("conv-hint");
    const back = this.#opts.onBack
      ? h("button", { type: "button", class: "btn btn-default btn-sm va-wa-btn va-wa-icon-btn va-wa-back", "aria-label": __("Back to the list") }, icon("back"))
      : null;
    back?.addEventListener("click", () => this.#opts.onBack?.());
    const head = h(
      "header",
      { class: "va-wa-conv-head" },
      back,
      h("div", { class: "va-wa-conv-heading" }, this.#keep("title", h("h3", { class: "va-wa-conv-title", id: titleId })), this.#keep("subtitle", h("p", { class: "va-wa-conv-sub" }))),
      this.#keep("actions", h("div", { class: "va-wa-conv-actions" })),
    );
    const windowLine = this.#keep("window", h("p", { class: "va-wa-window", "data-open": "false" }));
    const botBar = this.#keep("bot", h("div", { class: "va-wa-bot", hidden: true, "aria-live": "polite" }));
    const older = this.#keep("older", h("button", { type: "button", class: "btn btn-default btn-xs va-wa-btn va-wa-older", hidden: true }, __("Load earlier messages")));
    older.addEventListener("click", () => void this.#loadOlder());
    const start = this.#keep("start", h("p", { class: "va-wa-start", hidden: true }, __("Start of the conversation")));
    const messages = this.#keep(
      "messages",
      h("ol", { class: "va-wa-messages", "aria-label": __("Messages"), "aria-describedby": hintId }),
    );
    messages.addEventListener("keydown", (event) => this.#onMessageKey(event));
    messages.addEventListener("click", (event) => {
      const button = (event.target as HTMLElement).closest<HTMLElement>('[data-action="reply"]');
      const li = button?.closest<HTMLElement>("li.va-wa-msg");
      if (li?.dataset.name) this.#startReply(li.dataset.name);
    });
    const state = this.#keep("state", h("p", { class: "va-wa-state", role: "status" }));
    const scroller = this.#keep("scroller", h("div", { class: "va-wa-scroll" }, older, start, state, messages));
    scroller.addEventListener("scroll", () => {
      // Content may have grown between a scroll this view made and its event: judge the user's own only.
      if (Math.abs(scroller.scrollTop - this.#autoTop) <= 1) return;
      this.#pinned = this.#nearBottom();
      if (this.#pinned) this.#ref("newBelow").hidden = true;
    });
    const newBelow = this.#keep("newBelow", h("button", { type: "button", class: "va-wa-new-below", hidden: true }, __("New messages below")));
    newBelow.addEventListener("click", () => {
      this.#scrollToBottom();
      newBelow.hidden = true;
    });
    const announcer = this.#keep("announcer", h("p", { class: "va-wa-sr", role: "status", "aria-live": "polite" }));

    const root = h(
      "section",
      { class: "va-wa va-wa-conv", "aria-labelledby": titleId, "data-conversation": this.#conversation.name },
      head,
      windowLine,
      botBar,
      h("div", { class: "va-wa-history" }, scroller, newBelow),
      h("p", { class: "va-wa-sr", id: hintId }, __("Arrow keys move between messages; R replies to the focused one.")),
      announcer,
      this.#buildComposer(),
      this.#buildClosed(),
    );
    if (typeof IntersectionObserver === "function") {
      this.#observer = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) void this.#loadOlder();
      }, { root: scroller, rootMargin: "120px 0px 0px 0px" });
      this.#observer.observe(older);
    }
    return root;
  }

  #buildComposer(): HTMLElement {
    const textId = uid("text");
    const text = this.#keep(
      "text",
      h("textarea", { id: textId, class: "form-control va-wa-input va-wa-textarea", rows: 1, placeholder: __("Type a message"), "aria-label": __("Message"), "aria-keyshortcuts": "Enter", maxlength: 4096 }),
    ) as HTMLTextAreaElement;
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.#sendText();
      } else if (event.key === "Escape" && (this.#replyTo || this.#attachment)) {
        event.preventDefault();
        event.stopPropagation();
        this.#setReply(null);
        this.#setAttachment(null);
      }
    });
    text.addEventListener("input", () => {
      this.#autosize();
      if (text.value.trim() && this.#window.open) this.#typing();
    });
    text.addEventListener("paste", (event) => {
      const file = [...(event.clipboardData?.files ?? [])][0];
      if (file) {
        event.preventDefault();
        this.#setAttachment(file);
      }
    });
    const file = this.#keep("file", h("input", { type: "file", class: "va-wa-file-input", accept: ACCEPTED_TYPES, tabindex: -1, "aria-hidden": "true" })) as HTMLInputElement;
    file.addEventListener("change", () => {
      const chosen = file.files?.[0] ?? null;
      file.value = "";
      if (chosen) this.#setAttachment(chosen);
    });
    const attach = h("button", { type: "button", class: "btn btn-default btn-sm va-wa-btn va-wa-icon-btn", "aria-label": __("Attach a file"), title: __("Attach a file") }, icon("attach"));
    attach.addEventListener("click", () => file.click());
    const template = h("button", { type: "button", class: "btn btn-default btn-sm va-wa-btn va-wa-icon-btn", "aria-label": __("Send a template"), title: __("Send a template") }, icon("template"));
    template.addEventListener("click", () => this.openTemplatePicker());
    const options = h("button", { type: "button", class: "btn btn-default btn-sm va-wa-btn va-wa-icon-btn", "aria-label": __("Send buttons or a list"), title: __("Send buttons or a list") }, icon("list"));
    options.addEventListener("click", () => this.#openInteractive());
    const send = this.#keep("send", h("button", { type: "submit", class: "btn btn-primary btn-sm va-wa-btn va-wa-btn-primary va-wa-send", "aria-label": __("Send") }, icon("send"), h("span", { class: "va-wa-send-label" }, __("Send"))));
    const form = h("form", { class: "va-wa-compose-row" }, attach, template, options, text, send, file);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#sendText();
    });
    const replyBar = this.#keep("replyBar", h("div", { class: "va-wa-reply-bar", hidden: true }));
    const attachmentBar = this.#keep("attachmentBar", h("div", { class: "va-wa-attachment-bar", hidden: true }));
    const alert = this.#keep("alert", h("p", { class: "va-wa-alert va-wa-alert-error", role: "alert", hidden: true }));
    return this.#keep("composer", h("div", { class: "va-wa-composer" }, replyBar, attachmentBar, alert, form));
  }

  #buildClosed(): HTMLElement {
    const choose = this.#keep(
      "chooseTemplate",
      h("button", { type: "button", class: "btn btn-primary btn-sm va-wa-btn va-wa-btn-primary" }, icon("template", 14), __("Choose a template")),
    );
    choose.addEventListener("click", () => this.openTemplatePicker());
    return this.#keep(
      "closed",
      h(
        "div",
        { class: "va-wa-closed", hidden: true, "data-ref": "closed-window" },
        h("p", { class: "va-wa-closed-title" }, __("Only a template can be sent")),
        this.#keep("closedText", h("p", { class: "va-wa-closed-text" })),
        choose,
      ),
    );
  }

  // --- conversation and window ------------------------------------------------------------------

  #setConversation(conversation: Conversation, notify: boolean): void {
    const before = this.#conversation;
    this.#conversation = conversation;
    this.#renderHeader();
    this.#renderWindow();
    this.#renderBot();
    if (notify || before !== conversation) this.#opts.onConversation?.(conversation);
  }

  #renderHeader(): void {
    const c = this.#conversation;
    // Pushes repeat the same header most of the time: rebuild it (and lose focus in it) only on a change.
    const key = JSON.stringify([c.wa_id, c.account_title, c.party, c.profile_name, c.assigned_to]);
    if (key === this.#headerKey) return;
    this.#headerKey = key;
    this.#ref("title").textContent = conversationTitle(c);
    const sub = this.#ref("subtitle");
    const parts: (Node | string)[] = [formatWaId(c.wa_id), " · ", c.account_title];
    if (c.party) {
      parts.push(" · ", h("a", { href: formUrl(c.party.doctype, c.party.name), class: "va-wa-party" }, `${__(c.party.doctype)}: ${c.party.title}`));
    }
    if (c.profile_name && c.party && c.profile_name !== c.party.title) parts.push(" · ", h("span", { title: __("WhatsApp profile name") }, `~${c.profile_name}`));
    sub.replaceChildren(...parts);
    this.#renderActions();
  }

  #renderActions(): void {
    const c = this.#conversation;
    const actions = this.#ref("actions");
    const items: HTMLElement[] = [];
    if (this.#opts.showAssignment) {
      const assigned = c.assigned_to
        ? h("span", { class: "va-wa-assignee", "data-assigned": c.assigned_to }, c.assigned_to === this.#opts.me ? __("Assigned to you") : __("Assigned to {0}", [userName(c.assigned_to)]))
        : h("span", { class: "va-wa-assignee", "data-assigned": "" }, __("Unassigned"));
      items.push(assigned);
      if (c.assigned_to !== this.#opts.me) items.push(this.#button(__("Assign to me"), () => void this.#assign(this.#opts.me)));
      if (c.assigned_to) items.push(this.#button(__("Unassign"), () => void this.#assign(null)));
      items.push(this.#button(__("Assign to…"), () => this.#openAssign()));
    }
    items.push(this.#button(c.party ? __("Link to another record") : __("Link to a record"), () => this.#openLink()));
    actions.replaceChildren(...items);
  }

  // --- the bot ----------------------------------------------------------------------------------

  #renderBot(): void {
    const bot = this.#conversation.bot;
    const bar = this.#ref("bot");
    const key = JSON.stringify(bot);
    if (key === this.#botKey) return;
    this.#botKey = key;
    bar.hidden = !bot;
    if (!bot) {
      bar.replaceChildren();
      return;
    }
    bar.dataset.state = bot.state;
    const status = h("p", { class: "va-wa-bot-status" }, botStatusText(bot, Date.now()));
    const detail = bot.state === "Handed over" && bot.handover_detail ? h("p", { class: "va-wa-bot-detail" }, bot.handover_detail) : null;
    const note = bot.note && !(bot.paused_until && Date.parse(bot.paused_until) > Date.now()) ? h("p", { class: "va-wa-bot-note" }, bot.note) : null;
    const toggle = bot.state === "Active"
      ? this.#button(__("Take over"), () => void this.#botAction(() => this.#opts.api.takeOverFromBot(this.#conversation.name), __("You took the conversation over.")))
      : this.#button(__("Give back to the bot"), () => void this.#botAction(() => this.#opts.api.giveBackToBot(this.#conversation.name), __("The bot answers this conversation again.")));
    toggle.dataset.action = bot.state === "Active" ? "take-over" : "give-back";
    const reasons = h("ul", { class: "va-wa-score-reasons" }, ...bot.score_explanation.map((line) => h("li", {}, line)));
    const history = h("ol", { class: "va-wa-score-history", hidden: true });
    const historyButton = this.#button(__("Score history"), () => void this.#loadScoreHistory(history, historyButton));
    const score = h(
      "details",
      { class: "va-wa-score" },
      h("summary", {}, __("Lead score {0}", [String(bot.score ?? 0)])),
      bot.score_explanation.length ? reasons : h("p", { class: "va-wa-muted" }, __("No signals yet.")),
      historyButton,
      history,
    );
    const cost = bot.cost !== null ? h("span", { class: "va-wa-bot-cost", title: __("What the bot's model requests cost so far") }, __("Bot cost {0}", [bot.cost.toFixed(4)])) : null;
    bar.replaceChildren(h("div", { class: "va-wa-bot-line" }, status, toggle), detail ?? "", note ?? "", h("div", { class: "va-wa-bot-line" }, score, cost ?? ""));
  }

  async #botAction(call: () => Promise<Conversation>, done: string): Promise<void> {
    try {
      this.#setConversation(await call(), true);
      this.#announce(done);
    } catch (error) {
      this.#showAlert(errorText(error, __("That did not work; please try again.")));
    }
  }

  async #loadScoreHistory(list: HTMLElement, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const { changes } = await this.#opts.api.getScoreHistory(this.#conversation.name);
      list.replaceChildren(
        ...(changes.length
          ? changes.map((c) => h("li", { "data-score": String(c.score) },
              h("span", { class: "va-wa-score-change" }, `${c.previous_score} → ${c.score} (${scoreChange(c.change)})`),
              " ", h("span", { class: "va-wa-muted" }, formatFullTime(c.at)),
              h("ul", {}, ...c.reasons.map((r) => h("li", {}, r)))))
          : [h("li", { class: "va-wa-muted" }, __("The score has not changed yet."))]),
      );
      list.hidden = false;
      button.hidden = true;
    } catch (error) {
      this.#showAlert(errorText(error, __("The score history could not be loaded.")));
      button.disabled = false;
    }
  }

  #renderWindow(): void {
    clearTimeout(this.#windowTimer);
    const now = Date.now();
    const wasOpen = this.#window.open;
    this.#window = windowState(this.#conversation.window_ends_at, now);
    const line = this.#ref("window");
    line.textContent = windowText(this.#window, now);
    line.dataset.open = String(this.#window.open);
    line.dataset.soon = String(this.#window.open && this.#window.remainingMs < 60 * 60_000);
    this.root.dataset.window = this.#window.open ? "open" : "closed";
    this.#ref("composer").hidden = !this.#window.open;
    this.#ref("closed").hidden = this.#window.open;
    this.#ref("closedText").textContent = this.#window.open ? "" : closedWindowText(this.#window);
    if (wasOpen && !this.#window.open && this.root?.contains(document.activeElement) && document.activeElement === this.#el.text) {
      this.#ref("chooseTemplate").focus();
    }
    if (!this.#destroyed) this.#windowTimer = setTimeout(() => this.#renderWindow(), nextWindowTick(this.#window));
  }

  // --- history ------------------------------------------------------------------------------

  #context(): MessageContext {
    return {
      now: Date.now(),
      textOfWamid: (wamid) => this.#history.findByWamid(wamid)?.text ?? null,
    };
  }

  #renderAll(): void {
    const ctx = this.#context();
    const list = this.#ref("messages");
    this.#items.clear();
    list.replaceChildren(
      ...this.#history.messages.map((m) => {
        const li = renderMessage(m, ctx);
        this.#items.set(m.name, li);
        return li;
      }),
    );
    this.#ref("older").hidden = !this.#history.hasMore;
    this.#ref("start").hidden = this.#history.hasMore || !this.#history.messages.length;
    if (!this.#history.messages.length) {
      this.#ref("state").textContent = __("No messages yet.");
      this.#ref("state").hidden = false;
    }
    this.#roving.refresh();
  }

  /** Places one message's element where the history has it, replacing its old element. */
  #place(message: Message): HTMLLIElement {
    const list = this.#ref("messages");
    const old = this.#items.get(message.name);
    const hadFocus = old !== undefined && old.contains(document.activeElement);
    const li = renderMessage(message, this.#context());
    old?.remove();
    this.#items.set(message.name, li);
    const ordered = this.#history.messages;
    const at = ordered.findIndex((m) => m.name === message.name);
    const next = ordered.slice(at + 1).find((m) => this.#items.has(m.name));
    list.insertBefore(li, next ? (this.#items.get(next.name) as HTMLLIElement) : null);
    if (hadFocus) {
      li.tabIndex = 0;
      li.focus();
    }
    return li;
  }

  #applyMessage(message: Message, live: boolean): void {
    const wasNearBottom = this.#nearBottom();
    const result = this.#history.apply(message);
    if (result === "unchanged") return;
    const kept = this.#history.get(message.name) as Message;
    this.#place(kept);
    this.#ref("state").hidden = true;
    this.#ref("start").hidden = this.#history.hasMore;
    this.#roving.refresh();
    if (result === "added") {
      if (kept.direction === "outbound" || wasNearBottom) this.#scrollToBottom();
      else this.#ref("newBelow").hidden = false;
      if (live && kept.direction === "inbound") {
        this.#announce(__("New message from {0}: {1}", [conversationTitle(this.#conversation), kept.text ?? __(kept.kind)]));
        this.#markReadSoon();
      }
    } else if (kept.status === "failed" && kept.error?.message) {
      this.#announce(__("Message not delivered: {0}", [kept.error.message]));
    }
  }

  async #loadOlder(): Promise<void> {
    if (this.#loadingOlder || !this.#history.hasMore || this.#destroyed) return;
    this.#loadingOlder = true;
    const older = this.#ref("older");
    older.textContent = __("Loading…");
    const scroller = this.#ref("scroller");
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    try {
      const page = await this.#opts.api.getMessages(this.#conversation.name, this.#history.cursor, PAGE);
      if (this.#destroyed) return;
      const added = this.#history.addPage(page);
      for (const m of added) this.#place(m);
      older.hidden = !this.#history.hasMore;
      this.#ref("start").hidden = this.#history.hasMore;
      this.#roving.refresh();
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
      this.#autoTop = scroller.scrollTop;
    } catch (error) {
      this.#showAlert(errorText(error, __("Earlier messages could not be loaded.")));
    } finally {
      older.textContent = __("Load earlier messages");
      this.#loadingOlder = false;
    }
  }

  #nearBottom(): boolean {
    const s = this.#el.scroller;
    if (!s) return true;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  #scrollToBottom(): void {
    const s = this.#ref("scroller");
    s.scrollTop = s.scrollHeight;
    this.#autoTop = s.scrollTop;
    this.#pinned = true;
  }

  #announce(text: string): void {
    const a = this.#ref("announcer");
    a.textContent = "";
    // A new text node each time, so the same words are announced again.
    setTimeout(() => (a.textContent = text), 50);
  }

  #onMessageKey(event: KeyboardEvent): void {
    const li = (event.target as HTMLElement).closest<HTMLElement>("li.va-wa-msg");
    if (!li || li !== event.target) return;
    if (event.key === "r" || event.key === "R" || event.key === "Enter") {
      const name = li.dataset.name;
      if (name && this.#history.get(name)?.wamid) {
        event.preventDefault();
        this.#startReply(name);
      }
    }
  }

  #maybeMarkRead(): void {
    if (!this.#active || this.#destroyed || !this.#history.loaded) return;
    if (this.#conversation.unread_count <= 0) return;
    if (typeof document !== "undefined" && document.visibilityState === "hidden") return;
    this.#opts.api
      .markRead(this.#conversation.name)
      .then((c) => {
        if (!this.#destroyed) this.#setConversation(c, true);
      })
      .catch(() => undefined);
  }

  // --- composing and sending ----------------------------------------------------------------

  #startReply(name: string): void {
    const message = this.#history.get(name);
    if (!message?.wamid || !this.#window.open) return;
    this.#setReply(message);
    this.#ref("text").focus();
  }

  #setReply(message: Message | null): void {
    this.#replyTo = message;
    const bar = this.#ref("replyBar");
    if (!message) {
      bar.hidden = true;
      bar.replaceChildren();
      return;
    }
    const cancel = h("button", { type: "button", class: "btn btn-default btn-xs va-wa-btn va-wa-icon-btn", "aria-label": __("Cancel the reply") }, icon("close", 12));
    cancel.addEventListener("click", () => {
      this.#setReply(null);
      this.#ref("text").focus();
    });
    bar.replaceChildren(h("blockquote", { class: "va-wa-quote" }, h("span", { class: "va-wa-label" }, __("Replying to")), " ", message.text || __(message.kind)), cancel);
    bar.hidden = false;
  }

  #setAttachment(file: File | null): void {
    const bar = this.#ref("attachmentBar");
    const text = this.#ref("text") as HTMLTextAreaElement;
    if (file) {
      const problem = attachmentProblem(file);
      if (problem) {
        this.#showAlert(problem);
        return;
      }
    }
    this.#hideAlert();
    this.#attachment = file;
    if (this.#thumbUrl) URL.revokeObjectURL(this.#thumbUrl);
    this.#thumbUrl = file?.type.startsWith("image/") ? URL.createObjectURL(file) : null;
    text.placeholder = file ? __("Add a caption (optional)") : __("Type a message");
    if (!file) {
      bar.hidden = true;
      bar.replaceChildren();
      return;
    }
    const remove = h("button", { type: "button", class: "btn btn-default btn-xs va-wa-btn va-wa-icon-btn", "aria-label": __("Remove the attachment {0}", [file.name]) }, icon("close", 12));
    remove.addEventListener("click", () => {
      this.#setAttachment(null);
      text.focus();
    });
    const thumb = this.#thumbUrl ? h("img", { class: "va-wa-thumb", alt: "", src: this.#thumbUrl }) : icon("file", 20);
    bar.replaceChildren(thumb, h("span", { class: "va-wa-attachment-name" }, file.name), h("span", { class: "va-wa-muted" }, formatBytes(file.size)), this.#keep("progress", h("span", { class: "va-wa-muted va-wa-progress" })), remove);
    bar.hidden = false;
    text.focus();
  }

  async #sendText(): Promise<void> {
    if (this.#sending) return;
    const textarea = this.#ref("text") as HTMLTextAreaElement;
    const text = textarea.value.trim();
    const file = this.#attachment;
    if (!text && !file) {
      textarea.focus();
      return;
    }
    this.#sending = true;
    this.#hideAlert();
    this.#ref("send").setAttribute("aria-busy", "true");
    const replyTo = this.#replyTo?.name;
    try {
      let message: Message;
      if (file) {
        const progress = this.#el.progress;
        const uploaded = await this.#opts.api.uploadForSending(file, {
          onProgress: (f) => {
            if (progress) progress.textContent = __("uploading {0}%", [Math.round(f * 100)]);
          },
        });
        message = await this.#opts.api.sendMessage(this.#conversation.name, { kind: "media", file_url: uploaded.file_url, text: text || undefined, reply_to: replyTo });
      } else {
        message = await this.#opts.api.sendMessage(this.#conversation.name, { kind: "text", text, reply_to: replyTo });
      }
      textarea.value = "";
      this.#autosize();
      this.#setReply(null);
      this.#setAttachment(null);
      this.#sent(message);
    } catch (error) {
      const progress = this.#el.progress;
      if (progress) progress.textContent = "";
      this.#showAlert(errorText(error, __("The message could not be sent.")));
    } finally {
      this.#sending = false;
      this.#ref("send").removeAttribute("aria-busy");
    }
  }

  #sent(message: Message): void {
    this.#applyMessage(message, false);
    this.#scrollToBottom();
  }

  #openInteractive(): void {
    this.#openDialog?.close();
    const composer = new InteractiveComposer({
      api: this.#opts.api,
      conversation: this.#conversation.name,
      replyTo: this.#replyTo?.name,
      onSent: (m) => {
        this.#setReply(null);
        this.#sent(m);
      },
    });
    this.#openDialog = composer.dialog;
    composer.open();
  }

  #autosize(): void {
    const t = this.#ref("text");
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
  }

  #showAlert(text: string): void {
    const alert = this.#ref("alert");
    alert.textContent = text;
    alert.hidden = false;
    if (!this.#window.open) {
      // A refusal that comes with a closed window (the send raced the window's end) shows by the template button.
      this.#ref("closedText").textContent = text;
    }
  }

  #hideAlert(): void {
    this.#ref("alert").hidden = true;
  }

  // --- assignment and party ---------------------------------------------------------------------

  async #assign(user: string | null): Promise<void> {
    try {
      const c = await this.#opts.api.assignConversation(this.#conversation.name, user);
      this.#setConversation(c, true);
      this.#announce(user ? __("Assigned to {0}", [user === this.#opts.me ? __("you") : userName(user)]) : __("Unassigned"));
    } catch (error) {
      this.#showAlert(errorText(error, __("The conversation could not be assigned.")));
    }
  }

  #openAssign(): void {
    const dialog = new Dialog({ title: __("Assign the conversation"), className: "va-wa-small-dialog" });
    const id = uid("assign");
    const listId = uid("users");
    const users = [...new Set([this.#opts.me, ...(this.#opts.knownUsers?.() ?? [])].filter(Boolean))];
    const input = h("input", { id, type: "text", class: "form-control va-wa-input", list: listId, autocomplete: "off", placeholder: "user@example.com", autofocus: true });
    const problem = h("p", { class: "va-wa-problem", role: "alert" });
    const form = h(
      "form",
      {},
      h("label", { for: id, class: "va-wa-label" }, __("User (their login, usually the email address)")),
      input,
      h("datalist", { id: listId }, ...users.map((u) => h("option", { value: u }, userName(u)))),
      problem,
    );
    const submit = async (): Promise<void> => {
      const user = input.value.trim();
      if (!user) {
        problem.textContent = __("Type a user");
        input.focus();
        return;
      }
      try {
        const c = await this.#opts.api.assignConversation(this.#conversation.name, user);
        this.#setConversation(c, true);
        dialog.close();
      } catch (error) {
        problem.textContent = errorText(error, __("The conversation could not be assigned."));
      }
    };
    this.#showForm(dialog, form, __("Assign"), submit);
  }

  #openLink(): void {
    const dialog = new Dialog({ title: __("Link the conversation to a record"), className: "va-wa-small-dialog" });
    const typeId = uid("link-type");
    const nameId = uid("link-name");
    const current = this.#conversation.party;
    const select = h("select", { id: typeId, class: "form-control va-wa-input" }, ...PARTY_DOCTYPES.map((d) => h("option", { value: d, selected: current?.doctype === d }, __(d))));
    const input = h("input", { id: nameId, type: "text", class: "form-control va-wa-input", autocomplete: "off", placeholder: __("The record's ID, e.g. CRM-LEAD-2026-00001"), autofocus: true });
    const problem = h("p", { class: "va-wa-problem", role: "alert" });
    // The other records that have this number: one click fills the form.
    const others = this.#conversation.other_parties;
    const matches = others.length
      ? h(
          "div",
          { class: "va-wa-field" },
          h("p", { class: "va-wa-label" }, __("Other records with this number")),
          ...others.map((party) =>
            this.#button(`${__(party.doctype)}: ${party.title}`, () => {
              select.value = party.doctype;
              input.value = party.name;
              input.focus();
            }),
          ),
        )
      : null;
    const submit = async (): Promise<void> => {
      const name = input.value.trim();
      if (!name) {
        problem.textContent = __("Type the record's ID");
        input.focus();
        return;
      }
      try {
        const c = await this.#opts.api.linkParty(this.#conversation.name, select.value, name);
        this.#setConversation(c, true);
        dialog.close();
      } catch (error) {
        problem.textContent = errorText(error, __("The conversation could not be linked."));
      }
    };
    const form = h(
      "form",
      {},
      h("p", { class: "va-wa-note" }, __("Messages of this conversation then show on that record's timeline.")),
      matches,
      h("label", { for: typeId, class: "va-wa-label" }, __("Record type")),
      select,
      h("label", { for: nameId, class: "va-wa-label" }, __("Record")),
      input,
      problem,
    );
    this.#showForm(dialog, form, __("Link"), submit);
  }

  /** A dialog's form: Enter or the action button submits, Cancel closes. */
  #showForm(dialog: Dialog, form: HTMLFormElement, action: string, submit: () => Promise<void>): void {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void submit();
    });
    dialog.body.append(form);
    dialog.footer.append(
      this.#button(__("Cancel"), () => dialog.close(), "btn btn-default btn-sm va-wa-btn"),
      this.#button(action, () => void submit(), "btn btn-primary btn-sm va-wa-btn va-wa-btn-primary"),
    );
    dialog.open();
  }

}
