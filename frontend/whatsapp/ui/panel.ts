// The WhatsApp panel of a record (Lead, Contact, Customer, CRM Lead…): one tab per business number
// the record has a conversation on, and a way to start one (with a template) from a number it has
// none on yet.
import { __ } from "../../shared/i18n";
import type { WhatsAppApi } from "../core/api";
import { formatWaId } from "../core/inbox-state";
import type { Conversation, PartyConversations, WhatsAppUpdate } from "../core/types";
import { ConversationView, PAGE } from "./conversation-view";
import { errorText, h, icon, uid } from "./dom";

export interface PartyRef {
  doctype: string;
  name: string;
  title?: string;
}

export interface WhatsAppPanelOptions {
  api: WhatsAppApi;
  party: PartyRef;
  me: string;
}

const NEW_TAB = "__new__";

export class WhatsAppPanel {
  readonly root: HTMLElement;
  #opts: WhatsAppPanelOptions;
  #data: PartyConversations | null = null;
  #conversations: Conversation[] = [];
  #views = new Map<string, ConversationView>();
  #selected: string | null = null;
  #tabs: HTMLElement;
  #body: HTMLElement;
  #state: HTMLElement;
  #visible = true;
  #destroyed = false;
  #tabsId = uid("tabs");

  constructor(opts: WhatsAppPanelOptions) {
    this.#opts = opts;
    this.#tabs = h("div", { class: "va-wa-tabs", role: "tablist", "aria-label": __("WhatsApp numbers"), id: this.#tabsId, hidden: true });
    this.#tabs.addEventListener("keydown", (event) => this.#onTabKey(event));
    this.#state = h("p", { class: "va-wa-state", role: "status" }, __("Loading WhatsApp conversations…"));
    this.#body = h("div", { class: "va-wa-panel-body" }, this.#state);
    this.root = h("section", { class: "va-wa va-wa-panel", "aria-label": __("WhatsApp"), "data-party": `${opts.party.doctype}/${opts.party.name}` }, this.#tabs, this.#body);
  }

  get selected(): string | null {
    return this.#selected;
  }

  async load(): Promise<void> {
    this.#state.hidden = false;
    this.#state.replaceChildren(__("Loading WhatsApp conversations…"));
    try {
      this.#data = await this.#opts.api.getPartyConversations(this.#opts.party.doctype, this.#opts.party.name, PAGE);
    } catch (error) {
      if (this.#destroyed) return;
      const retry = h("button", { type: "button", class: "btn btn-default btn-xs va-wa-btn" }, __("Try again"));
      retry.addEventListener("click", () => void this.load());
      this.#state.replaceChildren(h("span", {}, errorText(error, __("The WhatsApp conversations could not be loaded."))), " ", retry);
      return;
    }
    if (this.#destroyed) return;
    this.#state.hidden = true;
    this.#conversations = [...this.#data.conversations];
    this.#renderTabs();
    this.#select(this.#selected && this.#has(this.#selected) ? this.#selected : (this.#conversations[0]?.name ?? NEW_TAB));
  }

  /** Whether the panel is on screen (a closed drawer is not): only then are conversations marked read. */
  setVisible(visible: boolean): void {
    this.#visible = visible;
    for (const [name, view] of this.#views) view.setActive(visible && name === this.#selected);
  }

  applyUpdate(update: WhatsAppUpdate): void {
    if (this.#destroyed || !this.#data) return;
    const c = update.conversation;
    const previous = this.#conversations.find((x) => x.name === c.name);
    const ours = (x: Conversation | undefined): boolean => x?.party?.doctype === this.#opts.party.doctype && x?.party?.name === this.#opts.party.name;
    // The record's conversations include those on its number that are linked elsewhere (the server's list).
    if (!previous && !ours(c)) return;
    if (previous && ours(previous) && !ours(c)) {
      // Re-linked from this record to another: it leaves this panel.
      this.#conversations = this.#conversations.filter((x) => x.name !== c.name);
      this.#views.get(c.name)?.destroy();
      this.#views.delete(c.name);
      this.#renderTabs();
      if (this.#selected === c.name) this.#select(this.#conversations[0]?.name ?? NEW_TAB);
      return;
    }
    this.#upsert(c);
    this.#views.get(c.name)?.applyUpdate(update);
  }

  focus(): void {
    const tab = this.#tabs.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]');
    if (tab && !this.#tabs.hidden) tab.focus();
    else this.#views.get(this.#selected ?? "")?.focusComposer();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const view of this.#views.values()) view.destroy();
    this.#views.clear();
    this.root.remove();
  }

  // --- tabs ------------------------------------------------------------------------------------

  #has(name: string): boolean {
    return name === NEW_TAB ? this.#canStart() : this.#conversations.some((c) => c.name === name);
  }

  /** Numbers the user may write from on which this record has no conversation yet. */
  #freeAccounts(): { name: string; title: string }[] {
    const data = this.#data;
    if (!data) return [];
    const phoneDigits = data.phone?.replace(/\D/g, "") ?? "";
    const used = new Set(this.#conversations.filter((c) => !phoneDigits || c.wa_id === phoneDigits).map((c) => c.account));
    return data.accounts.filter((a) => !used.has(a.name));
  }

  #canStart(): boolean {
    return Boolean(this.#data?.phone) && this.#freeAccounts().length > 0;
  }

  #tabLabel(c: Conversation): string {
    const sameAccount = this.#conversations.filter((x) => x.account === c.account).length > 1;
    return sameAccount ? `${c.account_title} · ${formatWaId(c.wa_id)}` : c.account_title;
  }

  #upsert(c: Conversation): void {
    const at = this.#conversations.findIndex((x) => x.name === c.name);
    if (at >= 0) this.#conversations[at] = c;
    else this.#conversations.push(c);
    this.#renderTabs();
    if (this.#selected === NEW_TAB && at < 0 && !this.#canStart()) this.#select(c.name);
    else if (this.#selected === null) this.#select(c.name);
  }

  #renderTabs(): void {
    const tabs: HTMLElement[] = this.#conversations.map((c) => {
      const selected = c.name === this.#selected;
      return h(
        "button",
        { type: "button", role: "tab", class: "va-wa-tab", id: `${this.#tabsId}-${c.name}`, "aria-selected": String(selected), tabindex: selected ? 0 : -1, "data-conversation": c.name },
        icon("whatsapp", 14),
        h("span", {}, this.#tabLabel(c)),
        c.unread_count > 0 ? h("span", { class: "va-wa-badge", "aria-label": __("{0} unread", [c.unread_count]) }, String(c.unread_count)) : null,
      );
    });
    if (this.#canStart() && this.#conversations.length) {
      const selected = this.#selected === NEW_TAB;
      tabs.push(h("button", { type: "button", role: "tab", class: "va-wa-tab va-wa-tab-new", id: `${this.#tabsId}-new`, "aria-selected": String(selected), tabindex: selected ? 0 : -1, "data-conversation": NEW_TAB }, __("+ New conversation")));
    }
    for (const tab of tabs) tab.addEventListener("click", () => this.#select(tab.dataset.conversation as string, true));
    this.#tabs.replaceChildren(...tabs);
    this.#tabs.hidden = tabs.length < 2;
  }

  #onTabKey(event: KeyboardEvent): void {
    const tabs = [...this.#tabs.querySelectorAll<HTMLElement>('[role="tab"]')];
    const at = tabs.indexOf(event.target as HTMLElement);
    if (at < 0) return;
    let next: HTMLElement | undefined;
    if (event.key === "ArrowRight") next = tabs[(at + 1) % tabs.length];
    else if (event.key === "ArrowLeft") next = tabs[(at - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    else return;
    event.preventDefault();
    if (next) {
      this.#select(next.dataset.conversation as string);
      this.#tabs.querySelector<HTMLElement>(`[data-conversation="${next.dataset.conversation}"]`)?.focus();
    }
  }

  #select(name: string, focus = false, offerTemplate = false): void {
    this.#selected = name;
    this.#renderTabs();
    for (const [n, view] of this.#views) {
      view.root.hidden = n !== name;
      view.setActive(this.#visible && n === name);
    }
    this.#body.querySelector(".va-wa-start-box")?.remove();
    if (name === NEW_TAB) {
      this.#body.append(this.#startBox());
      return;
    }
    let view = this.#views.get(name);
    if (!view) {
      const conversation = this.#conversations.find((c) => c.name === name);
      if (!conversation) return;
      const latest = this.#data?.latest_page;
      view = new ConversationView({
        api: this.#opts.api,
        conversation,
        me: this.#opts.me,
        offerTemplate,
        firstPage: latest?.conversation.name === name ? latest : undefined,
        onConversation: (c) => this.#upsert(c),
      });
      view.root.setAttribute("role", "tabpanel");
      view.root.setAttribute("aria-labelledby", `${this.#tabsId}-${name}`);
      this.#views.set(name, view);
      this.#body.append(view.root);
      view.setActive(this.#visible);
      void view.load();
    }
    if (focus) view.focusComposer();
  }

  #startBox(): HTMLElement {
    const data = this.#data as PartyConversations;
    const title = this.#opts.party.title || this.#opts.party.name;
    if (!data.phone) {
      return h("div", { class: "va-wa-start-box", role: "tabpanel" }, h("p", { class: "va-wa-note" }, __("{0} has no mobile or phone number WhatsApp can reach. Add one to the record to start a conversation.", [title])));
    }
    const accounts = this.#freeAccounts();
    if (!data.accounts.length) {
      return h("div", { class: "va-wa-start-box", role: "tabpanel" }, h("p", { class: "va-wa-note" }, __("No WhatsApp number is available to you. A Voice Agent Manager adds you to the team of a WhatsApp Account.")));
    }
    const id = uid("account");
    const select = h("select", { id, class: "form-control va-wa-input", "data-ref": "start-account" }, ...accounts.map((a) => h("option", { value: a.name }, a.title)));
    const problem = h("p", { class: "va-wa-problem", role: "alert" });
    const start = h("button", { type: "submit", class: "btn btn-primary btn-sm va-wa-btn va-wa-btn-primary" }, icon("template", 14), __("Start with a template"));
    const form = h(
      "form",
      { class: "va-wa-start-box", role: "tabpanel" },
      h("h3", { class: "va-wa-start-title" }, __("Start a WhatsApp conversation")),
      h("p", { class: "va-wa-note" }, __("with {0} on {1}. WhatsApp lets a business write first only with an approved template; once the customer answers you can write freely for 24 hours.", [title, data.phone])),
      h("label", { for: id, class: "va-wa-label" }, __("From the number")),
      select,
      problem,
      h("div", { class: "va-wa-start-actions" }, start),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (start.getAttribute("aria-busy") === "true") return;
      start.setAttribute("aria-busy", "true");
      problem.textContent = "";
      this.#opts.api
        .startConversation(this.#opts.party.doctype, this.#opts.party.name, select.value)
        .then((c) => {
          const at = this.#conversations.findIndex((x) => x.name === c.name);
          if (at >= 0) this.#conversations[at] = c;
          else this.#conversations.push(c);
          this.#select(c.name, false, true);
        })
        .catch((error: unknown) => {
          problem.textContent = errorText(error, __("The conversation could not be started."));
          start.removeAttribute("aria-busy");
        });
    });
    return form;
  }
}
