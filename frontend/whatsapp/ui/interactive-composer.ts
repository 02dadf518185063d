// Compose a message with reply buttons (up to 3) or a list (up to 10 rows): the question, the
// options, and for a list the label of the button that opens it.
import { __ } from "../../shared/i18n";
import type { WhatsAppApi } from "../core/api";
import { interactiveOptions, interactiveProblems, LIMITS, type InteractiveDraft, type InteractiveKind } from "../core/interactive";
import type { Message } from "../core/types";
import { Dialog } from "./dialog";
import { errorText, h, icon, uid } from "./dom";

export interface InteractiveComposerOptions {
  api: WhatsAppApi;
  conversation: string;
  replyTo?: string;
  onSent(message: Message): void;
}

export class InteractiveComposer {
  readonly dialog: Dialog;
  #opts: InteractiveComposerOptions;
  #draft: InteractiveDraft = { kind: "buttons", text: "", options: [{ title: "", description: "" }, { title: "", description: "" }], listButton: "" };
  #attempted = false;
  #sending = false;
  #form: HTMLFormElement;
  #optionsBox: HTMLElement;
  #alert: HTMLElement;
  #send: HTMLButtonElement;
  #add: HTMLButtonElement;
  #listButtonField: HTMLElement;

  constructor(opts: InteractiveComposerOptions) {
    this.#opts = opts;
    this.dialog = new Dialog({ title: __("Send options"), className: "va-wa-interactive-dialog" });
    const name = uid("kind");
    const kindRadio = (kind: InteractiveKind, label: string, hint: string) => {
      const id = uid(`kind-${kind}`);
      const input = h("input", { type: "radio", name, id, value: kind, checked: kind === this.#draft.kind });
      input.addEventListener("change", () => this.#setKind(kind));
      return h("label", { for: id, class: "va-wa-radio" }, input, h("span", {}, h("strong", {}, label), h("small", {}, hint)));
    };
    const textId = uid("question");
    const text = h("textarea", { id: textId, class: "form-control va-wa-input", rows: 2, maxlength: LIMITS.body, "data-field": "text", "aria-describedby": `${textId}-problem` });
    text.addEventListener("input", () => {
      this.#draft.text = text.value;
      this.#render();
    });
    const buttonId = uid("list-button");
    const listButton = h("input", { id: buttonId, type: "text", class: "form-control va-wa-input", maxlength: LIMITS.listButton + 10, "data-field": "listButton", placeholder: __("e.g. Choose a day"), "aria-describedby": `${buttonId}-problem` });
    listButton.addEventListener("input", () => {
      this.#draft.listButton = listButton.value;
      this.#render();
    });
    this.#listButtonField = h(
      "div",
      { class: "va-wa-field", hidden: true },
      h("label", { for: buttonId, class: "va-wa-label" }, __("Label of the list's button")),
      listButton,
      h("p", { class: "va-wa-problem", id: `${buttonId}-problem`, "data-problem": "listButton" }),
    );
    this.#optionsBox = h("ol", { class: "va-wa-option-fields" });
    this.#add = h("button", { type: "button", class: "btn btn-default btn-xs va-wa-btn" }, __("Add an option"));
    this.#add.addEventListener("click", () => {
      this.#draft.options.push({ title: "", description: "" });
      this.#buildOptions();
      this.#optionsBox.querySelector<HTMLInputElement>(`[data-field="option-${this.#draft.options.length - 1}"]`)?.focus();
    });
    this.#alert = h("p", { class: "va-wa-alert va-wa-alert-error", role: "alert", hidden: true });
    this.#form = h(
      "form",
      { class: "va-wa-interactive-form", novalidate: true },
      h("fieldset", { class: "va-wa-kinds" }, h("legend", { class: "va-wa-label" }, __("Kind")), kindRadio("buttons", __("Reply buttons"), __("Up to 3, shown under the message")), kindRadio("list", __("List"), __("Up to 10 rows, behind one button"))),
      h("div", { class: "va-wa-field" }, h("label", { for: textId, class: "va-wa-label" }, __("Message")), text, h("p", { class: "va-wa-problem", id: `${textId}-problem`, "data-problem": "text" })),
      this.#listButtonField,
      h("fieldset", { class: "va-wa-options-set" }, h("legend", { class: "va-wa-label" }, __("Options")), this.#optionsBox, h("p", { class: "va-wa-problem", "data-problem": "options" }), this.#add),
      this.#alert,
    );
    this.#form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#submit();
    });
    this.dialog.body.append(this.#form);
    const cancel = h("button", { type: "button", class: "btn btn-default btn-sm va-wa-btn" }, __("Cancel"));
    cancel.addEventListener("click", () => this.dialog.close());
    this.#send = h("button", { type: "button", class: "btn btn-primary btn-sm va-wa-btn va-wa-btn-primary" }, icon("send", 14), __("Send"));
    this.#send.addEventListener("click", () => void this.#submit());
    this.dialog.footer.append(cancel, this.#send);
    this.#buildOptions();
  }

  open(): this {
    this.dialog.open();
    return this;
  }

  #setKind(kind: InteractiveKind): void {
    this.#draft.kind = kind;
    this.#listButtonField.hidden = kind !== "list";
    this.#buildOptions();
  }

  #buildOptions(): void {
    const list = this.#draft.kind === "list";
    const max = list ? LIMITS.rows : LIMITS.buttons;
    if (this.#draft.options.length > max) this.#draft.options.length = max;
    this.#optionsBox.replaceChildren(
      ...this.#draft.options.map((option, i) => {
        const id = uid(`option-${i}`);
        const title = h("input", { id, type: "text", class: "form-control va-wa-input", value: option.title, "data-field": `option-${i}`, "aria-describedby": `${id}-problem`, maxlength: 40 });
        title.addEventListener("input", () => {
          option.title = title.value;
          this.#render();
        });
        const remove = h("button", { type: "button", class: "btn btn-default btn-xs va-wa-btn va-wa-icon-btn", "aria-label": __("Remove option {0}", [i + 1]), disabled: this.#draft.options.length <= 1 }, icon("close", 12));
        remove.addEventListener("click", () => {
          this.#draft.options.splice(i, 1);
          this.#buildOptions();
        });
        const description = list
          ? h("input", { type: "text", class: "form-control va-wa-input va-wa-option-description", value: option.description, placeholder: __("Description (optional)"), "aria-label": __("Description of option {0}", [i + 1]), "data-field": `option-${i}-description`, maxlength: 100 })
          : null;
        description?.addEventListener("input", () => {
          option.description = description.value;
          this.#render();
        });
        return h(
          "li",
          { class: "va-wa-option-field" },
          h("label", { for: id, class: "va-wa-label" }, __("Option {0}", [i + 1])),
          h("div", { class: "va-wa-option-row" }, title, remove),
          description,
          h("p", { class: "va-wa-problem", id: `${id}-problem`, "data-problem": `option-${i}` }),
          list ? h("p", { class: "va-wa-problem", "data-problem": `option-${i}-description` }) : null,
        );
      }),
    );
    this.#add.hidden = this.#draft.options.length >= max;
    this.#render();
  }

  #render(): void {
    const problems = interactiveProblems(this.#draft);
    for (const el of this.#form.querySelectorAll<HTMLElement>("[data-problem]")) {
      const key = el.dataset.problem as string;
      el.textContent = this.#attempted ? (problems[key] ?? "") : "";
    }
    for (const el of this.#form.querySelectorAll<HTMLElement>("[data-field]")) {
      el.setAttribute("aria-invalid", String(this.#attempted && Boolean(problems[el.dataset.field as string])));
    }
    this.#send.dataset.incomplete = String(Object.keys(problems).length > 0);
    this.#send.setAttribute("aria-busy", String(this.#sending));
  }

  async #submit(): Promise<void> {
    if (this.#sending) return;
    this.#attempted = true;
    this.#render();
    const problems = interactiveProblems(this.#draft);
    const first = Object.keys(problems)[0];
    if (first) {
      this.#form.querySelector<HTMLElement>(`[data-field="${first}"]`)?.focus();
      return;
    }
    this.#sending = true;
    this.#alert.hidden = true;
    const text = this.#draft.text.trim();
    const options = interactiveOptions(this.#draft);
    try {
      const message = await this.#opts.api.sendMessage(
        this.#opts.conversation,
        this.#draft.kind === "list"
          ? { kind: "list", text, options, list_button: this.#draft.listButton.trim(), reply_to: this.#opts.replyTo }
          : { kind: "buttons", text, options, reply_to: this.#opts.replyTo },
      );
      this.#opts.onSent(message);
      this.dialog.close();
    } catch (error) {
      this.#sending = false;
      this.#alert.textContent = errorText(error, __("The message could not be sent."));
      this.#alert.hidden = false;
      this.#render();
    }
  }
}
