// The shared inbox: conversations of the numbers the user works on (unread, assigned to me,
// unassigned, all; by number; searched), kept live, with the chosen one open beside the list
// (on a phone the list and the conversation take turns).
import { __ } from "../../shared/i18n";
import type { WhatsAppApi } from "../core/api";
import { formatListTime } from "../core/format";
import { compareConversations, conversationTitle, formatWaId, matchesInbox, upsertConversation, type InboxQuery } from "../core/inbox-state";
import { INBOX_FILTERS, type Conversation, type InboxFilter, type InboxPage, type WhatsAppUpdate } from "../core/types";
import { ConversationView } from "./conversation-view";
import { debounce, errorText, h, icon, rovingFocus, uid } from "./dom";
import { userName } from "./realtime";

const PAGE = 50;

export interface InboxOptions {
  api: WhatsAppApi;
  me: string;
  /** A conversation to open at once (the page's route: /app/whatsapp-inbox/<name>). */
  conversation?: string | null;
}

const FILTER_LABEL: Record<InboxFilter, () => string> = {
  all: () => __("All"),
  unread: () => __("Unread"),
  mine: () => __("Assigned to me"),
  unassigned: () => __("Unassigned"),
};

export class Inbox {
  readonly root: HTMLElement;
  #opts: InboxOptions;
  #query: InboxQuery = { filter: "all", account: null, search: "" };
  #list: Conversation[] = [];
  #counts: InboxPage["counts"] | null = null;
  #hasMore = false;
  #accounts = new Map<string, string>();
  #users = new Set<string>();
  #view: ConversationView | null = null;
  #loadSeq = 0;
  #destroyed = false;
  #el: Record<string, HTMLElement> = {};
  #roving: { refresh(): void };
  #refreshCounts: ReturnType<typeof debounce>;
  #reloadSearch: ReturnType<typeof debounce>;

  constructor(opts: InboxOptions) {
    this.#opts = opts;
    this.#refreshCounts = debounce(() => void this.#loadCounts(), 800);
    this.#reloadSearch = debounce(() => void this.reload(), 300);
    this.root = this.#build();
    this.#roving = rovingFocus(this.#ref("rows"), "button.va-wa-row");
  }

  async load(): Promise<void> {
    await this.reload();
    if (this.#opts.conversation) await this.open(this.#opts.conversation);
  }

  /** The list for the current filters, from the start. */
  async reload(): Promise<void> {
    const seq = ++this.#loadSeq;
    const state = this.#ref("state");
    state.textContent = __("Loading conversations…");
    state.hidden = false;
    this.#ref("rows").setAttribute("aria-busy", "true");
    try {
      const page = await this.#opts.api.getInbox({ ...this.#query, start: 0, limit: PAGE });
      if (seq !== this.#loadSeq || this.#destroyed) return;
      this.#list = [...page.conversations].sort(compareConversations);
      this.#keepOpen();
      this.#hasMore = page.has_more;
      this.#counts = page.counts;
      this.#learn(page.conversations);
      this.#render();
    } catch (error) {
      if (seq !== this.#loadSeq || this.#destroyed) return;
      const retry = h("button", { type: "button", class: "btn btn-default btn-xs va-wa-btn" }, __("Try again"));
      retry.addEventListener("click", () => void this.reload());
      state.replaceChildren(h("span", {}, errorText(error, __("The inbox could not be loaded."))), " ", retry);
      state.hidden = false;
    } finally {
      if (seq === this.#loadSeq) this.#ref("rows").removeAttribute("aria-busy");
    }
  }

  /** Opens a conversation beside the list (by name; fetched when it is not in the list). */
  async open(name: string, focus = false): Promise<void> {
    if (this.#view?.name === name) {
      this.#showConversation(focus);
      return;
    }
    let conversation = this.#list.find((c) => c.name === name);
    if (!conversation) {
      try {
        conversation = (await this.#opts.api.getMessages(name, null, 1)).conversation;
      } catch (error) {
        this.#ref("main").replaceChildren(h("p", { class: "va-wa-state", role: "alert" }, errorText(error, __("The conversation could not be opened."))));
        return;
      }
    }
    this.#view?.destroy();
    const view = new ConversationView({
      api: this.#opts.api,
      conversation,
      me: this.#opts.me,
      showAssignment: true,
      onBack: () => this.#showList(),
      onConversation: (c) => this.#upsert(c),
      knownUsers: () => [...this.#users],
    });
    this.#view = view;
    this.#ref("main").replaceChildren(view.root);
    view.setActive(true);
    this.#renderRows();
    this.#showConversation(focus);
    await view.load();
  }

  applyUpdate(update: WhatsAppUpdate): void {
    if (this.#destroyed) return;
    const c = update.conversation;
    const before = this.#list.find((x) => x.name === c.name);
    this.#upsert(c);
    this.#view?.applyUpdate(update);
    if (update.kind === "message" && update.message?.direction === "inbound" && this.#view?.name !== c.name) {
      const shown = this.#list.some((x) => x.name === c.name);
      if (shown || !before) this.#announce(__("New message from {0}", [conversationTitle(c)]));
    }
    this.#refreshCounts();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#refreshCounts.cancel();
    this.#reloadSearch.cancel();
    this.#view?.destroy();
    this.root.remove();
  }

  // --- building ------------------------------------------------------------------------------

  #ref(name: string): HTMLElement {
    const el = this.#el[name];
    if (!el) throw new Error(`inbox element ${name} missing`);
    return el;
  }

  #keep<T extends HTMLElement>(name: string, el: T): T {
    this.#el[name] = el;
    return el;
  }

  #build(): HTMLElement {
    const filters = this.#keep(
      "filters",
      h(
        "div",
        { class: "va-wa-filters", role: "group", "aria-label": __("Show") },
        ...INBOX_FILTERS.map((f) => {
          const b = h("button", { type: "button", class: "va-wa-filter", "data-filter": f, "aria-pressed": String(f === this.#query.filter) }, h("span", {}, FILTER_LABEL[f]()), h("span", { class: "va-wa-count", "data-count": f }));
          b.addEventListener("click", () => this.#setFilter(f));
          return b;
        }),
      ),
    );
    const accountId = uid("account");
    const account = this.#keep("account", h("select", { id: accountId, class: "form-control va-wa-input", "aria-label": __("Number") }, h("option", { value: "" }, __("All numbers")))) as HTMLSelectElement;
    account.addEventListener("change", () => {
      this.#query.account = account.value || null;
      void this.reload();
    });
    const search = this.#keep("search", h("input", { type: "search", class: "form-control va-wa-input", placeholder: __("Search name, number, message"), "aria-label": __("Search conversations") })) as HTMLInputElement;
    search.addEventListener("input", () => {
      this.#query.search = search.value;
      this.#reloadSearch();
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.#reloadSearch.cancel();
        void this.reload();
      }
    });
    const rows = this.#keep("rows", h("ul", { class: "va-wa-rows", "aria-label": __("Conversations") }));
    const more = this.#keep("more", h("button", { type: "button", class: "btn btn-default btn-xs va-wa-btn va-wa-more", hidden: true }, __("Load more")));
    more.addEventListener("click", () => void this.#loadMore());
    const side = h(
      "div",
      { class: "va-wa-inbox-side" },
      filters,
      h("div", { class: "va-wa-inbox-tools" }, account, search),
      this.#keep("state", h("p", { class: "va-wa-state", role: "status" })),
      h("div", { class: "va-wa-rows-scroll" }, rows, more),
    );
    const main = this.#keep(
      "main",
      h("div", { class: "va-wa-inbox-main" }, h("div", { class: "va-wa-empty" }, icon("whatsapp", 40), h("p", {}, __("Choose a conversation to read and answer it.")))),
    );
    return h(
      "div",
      { class: "va-wa va-wa-inbox", "data-view": "list" },
      side,
      main,
      this.#keep("announcer", h("p", { class: "va-wa-sr", role: "status", "aria-live": "polite" })),
    );
  }

  // --- list ----------------------------------------------------------------------------------

  #setFilter(filter: InboxFilter): void {
    this.#query.filter = filter;
    for (const b of this.#ref("filters").querySelectorAll<HTMLElement>("[data-filter]")) b.setAttribute("aria-pressed", String(b.dataset.filter === filter));
    void this.reload();
  }

  async #loadMore(): Promise<void> {
    const more = this.#ref("more");
    if (more.getAttribute("aria-busy") === "true") return;
    more.setAttribute("aria-busy", "true");
    try {
      const page = await this.#opts.api.getInbox({ ...this.#query, start: this.#list.length, limit: PAGE });
      const known = new Set(this.#list.map((c) => c.name));
      this.#list = [...this.#list, ...page.conversations.filter((c) => !known.has(c.name))].sort(compareConversations);
      this.#hasMore = page.has_more;
      this.#counts = page.counts;
      this.#learn(page.conversations);
      this.#render();
    } catch (error) {
      this.#announce(errorText(error, __("More conversations could not be loaded.")));
    } finally {
      more.removeAttribute("aria-busy");
    }
  }

  async #loadCounts(): Promise<void> {
    try {
      const page = await this.#opts.api.getInbox({ filter: "all", start: 0, limit: 1 });
      this.#counts = page.counts;
      this.#learn(page.conversations);
      this.#renderCounts();
    } catch {
      // The counts stay as they were; the next push tries again.
    }
  }

  #upsert(c: Conversation): void {
    this.#learn([c]);
    const open = this.#view?.name === c.name;
    this.#list = open
      ? [...this.#list.filter((x) => x.name !== c.name), c].sort(compareConversations)
      : upsertConversation(this.#list, c, this.#query, this.#opts.me);
    this.#renderRows();
  }

  /** The open conversation stays in the list while it is open, even when it no longer matches. */
  #keepOpen(): void {
    const view = this.#view;
    if (view && !this.#list.some((c) => c.name === view.name) && matchesInbox(view.conversation, { ...this.#query, filter: "all" }, this.#opts.me)) {
      this.#list = [...this.#list, view.conversation].sort(compareConversations);
    }
  }

  #learn(conversations: Conversation[]): void {
    let grew = false;
    for (const c of conversations) {
      if (!this.#accounts.has(c.account)) grew = true;
      this.#accounts.set(c.account, c.account_title);
      if (c.assigned_to) this.#users.add(c.assigned_to);
    }
    if (grew) {
      this.#renderAccounts();
      this.#renderRows();
    }
  }

  #renderAccounts(): void {
    const select = this.#ref("account") as HTMLSelectElement;
    const value = select.value;
    select.replaceChildren(
      h("option", { value: "" }, __("All numbers")),
      ...[...this.#accounts].sort((a, b) => a[1].localeCompare(b[1])).map(([name, title]) => h("option", { value: name, selected: name === value }, title)),
    );
    // One number needs no choice.
    select.hidden = this.#accounts.size < 2 && !value;
  }

  #render(): void {
    this.#renderCounts();
    this.#renderRows();
  }

  #renderCounts(): void {
    const counts = this.#counts;
    for (const el of this.#ref("filters").querySelectorAll<HTMLElement>("[data-count]")) {
      const f = el.dataset.count as InboxFilter;
      const n = f === "all" || !counts ? null : counts[f];
      el.textContent = n ? String(n) : "";
      el.hidden = !n;
    }
  }

  #renderRows(): void {
    const now = Date.now();
    const openName = this.#view?.name;
    const focused = (document.activeElement as HTMLElement | null)?.closest?.<HTMLElement>("button.va-wa-row")?.dataset.conversation;
    const rows = this.#list.map((c) => {
      const title = conversationTitle(c);
      const unread = c.unread_count > 0;
      const button = h(
        "button",
        {
          type: "button",
          class: "va-wa-row",
          "data-conversation": c.name,
          "data-unread": String(unread),
          "aria-current": c.name === openName ? "true" : "false",
          tabindex: -1,
        },
        h("span", { class: "va-wa-avatar", "aria-hidden": "true" }, (title.replace(/^\+/, "").trim()[0] ?? "?").toUpperCase()),
        h(
          "span",
          { class: "va-wa-row-main" },
          h("span", { class: "va-wa-row-top" }, h("span", { class: "va-wa-row-title" }, title), h("time", { class: "va-wa-row-time", datetime: c.last_message_at ?? "" }, formatListTime(c.last_message_at, now))),
          h("span", { class: "va-wa-row-preview" }, c.last_message_preview ?? ""),
          h(
            "span",
            { class: "va-wa-row-bottom" },
            // The number only says something when there are several.
            this.#accounts.size > 1 ? h("span", { class: "va-wa-chip" }, c.account_title) : null,
            c.party ? null : h("span", { class: "va-wa-chip" }, formatWaId(c.wa_id)),
            h("span", { class: "va-wa-chip va-wa-chip-assignee", "data-assigned": c.assigned_to ?? "" }, c.assigned_to ? (c.assigned_to === this.#opts.me ? __("Me") : userName(c.assigned_to)) : __("Unassigned")),
            unread ? h("span", { class: "va-wa-badge", "aria-label": __("{0} unread", [c.unread_count]) }, String(c.unread_count)) : null,
          ),
        ),
      );
      button.addEventListener("click", () => void this.open(c.name, true));
      return h("li", {}, button);
    });
    this.#ref("rows").replaceChildren(...rows);
    const current = this.#ref("rows").querySelector<HTMLElement>(`[data-conversation="${focused ?? openName ?? ""}"]`) ?? this.#ref("rows").querySelector<HTMLElement>("button.va-wa-row");
    if (current) current.tabIndex = 0;
    if (focused && current?.dataset.conversation === focused) current.focus();
    this.#roving.refresh();
    const state = this.#ref("state");
    if (this.#list.length) state.hidden = true;
    else {
      state.textContent = this.#query.search.trim() ? __("No conversation matches “{0}”.", [this.#query.search.trim()]) : __("No conversations here.");
      state.hidden = false;
    }
    this.#ref("more").hidden = !this.#hasMore;
  }

  #showConversation(focus: boolean): void {
    this.root.dataset.view = "conversation";
    if (focus) this.#view?.focusComposer();
  }

  #showList(): void {
    this.root.dataset.view = "list";
    this.#ref("rows").querySelector<HTMLElement>(`[data-conversation="${this.#view?.name ?? ""}"]`)?.focus();
  }

  #announce(text: string): void {
    const a = this.#ref("announcer");
    a.textContent = "";
    setTimeout(() => (a.textContent = text), 50);
  }
}
