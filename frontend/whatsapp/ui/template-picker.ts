// The template picker: the number's approved templates, a field per parameter (a file for a
// media header), the message as the customer will read it, filled in as you type, and Send only
// once every required value is there.
import { __ } from "../../shared/i18n";
import type { WhatsAppApi } from "../core/api";
import { cleanTemplateValues, fieldId, parameterLabel, parameterProblem, renderTemplate, templateProblems, valueKey } from "../core/templates";
import type { Message, Template, TemplateParameter, TemplateValues } from "../core/types";
import { Dialog } from "./dialog";
import { errorText, h, icon, uid } from "./dom";

export interface TemplatePickerOptions {
  api: WhatsAppApi;
  conversation: string;
  /** Shown under the title, e.g. why only a template can be sent. */
  note?: string;
  onSent(message: Message): void;
  onClose?(): void;
}

const ACCEPT: Record<string, string> = {
  image: "image/jpeg,image/png",
  video: "video/mp4,video/3gpp",
  document: "application/pdf,text/plain,application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document,application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

const PLACEHOLDER_SPLIT = /(\{\{\s*\d+\s*\}\})/;

export class TemplatePicker {
  readonly dialog: Dialog;
  #opts: TemplatePickerOptions;
  #templates: Template[] = [];
  #template: Template | null = null;
  #values: TemplateValues = {};
  #file: File | null = null;
  #fileUrl: string | null = null;
  #touched = new Set<string>();
  #attempted = false;
  #sending = false;
  #select: HTMLSelectElement;
  #fields: HTMLElement;
  #preview: HTMLElement;
  #status: HTMLElement;
  #alert: HTMLElement;
  #send: HTMLButtonElement;

  constructor(opts: TemplatePickerOptions) {
    this.#opts = opts;
    this.dialog = new Dialog({ title: __("Send a template"), className: "va-wa-template-dialog", onClose: () => this.#dispose() });
    const selectId = uid("template");
    this.#select = h("select", { id: selectId, class: "form-control va-wa-input", "data-ref": "template", disabled: true }, h("option", { value: "" }, __("Loading templates…")));
    this.#select.addEventListener("change", () => this.#choose(this.#select.value));
    this.#fields = h("div", { class: "va-wa-tpl-fields" });
    this.#preview = h("div", { class: "va-wa-tpl-preview", "aria-live": "polite", "aria-label": __("Preview") });
    this.#status = h("p", { class: "va-wa-tpl-status", role: "status" });
    this.#alert = h("p", { class: "va-wa-alert va-wa-alert-error", role: "alert", hidden: true });
    this.#send = h("button", { type: "button", class: "btn btn-primary btn-sm va-wa-btn va-wa-btn-primary", "data-ref": "send-template" }, icon("send", 14), __("Send template"));
    const form = h(
      "form",
      { class: "va-wa-tpl-form", novalidate: true },
      opts.note ? h("p", { class: "va-wa-note" }, opts.note) : null,
      h("div", { class: "va-wa-field" }, h("label", { class: "va-wa-label", for: selectId }, __("Template")), this.#select),
      h("div", { class: "va-wa-tpl-grid" }, this.#fields, h("div", { class: "va-wa-tpl-preview-wrap" }, h("p", { class: "va-wa-label", "aria-hidden": "true" }, __("Preview")), this.#preview)),
      this.#alert,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#submit();
    });
    // Enter in a value sends, as in the message box (the button is in the footer, outside the form).
    form.addEventListener("keydown", (event) => {
      const target = event.target as HTMLElement;
      if (event.key === "Enter" && target instanceof HTMLInputElement && target.type === "text") {
        event.preventDefault();
        void this.#submit();
      }
    });
    this.dialog.body.append(form);
    const cancel = h("button", { type: "button", class: "btn btn-default btn-sm va-wa-btn" }, __("Cancel"));
    cancel.addEventListener("click", () => this.dialog.close());
    this.#send.addEventListener("click", (event) => {
      event.preventDefault();
      void this.#submit();
    });
    this.dialog.footer.append(this.#status, cancel, this.#send);
    this.#render();
  }

  open(): this {
    this.dialog.open();
    void this.#load();
    return this;
  }

  async #load(): Promise<void> {
    try {
      this.#templates = await this.#opts.api.getTemplates(this.#opts.conversation);
    } catch (error) {
      this.#select.replaceChildren(h("option", { value: "" }, __("Templates could not be loaded")));
      this.#showAlert(errorText(error, __("The templates could not be loaded.")));
      return;
    }
    if (!this.dialog.isOpen) return;
    if (!this.#templates.length) {
      this.#select.replaceChildren(h("option", { value: "" }, __("No approved templates")));
      this.#fields.replaceChildren(
        h("p", { class: "va-wa-note" }, __("This number has no approved template yet. Templates are created in WhatsApp Manager; the site syncs them every day, or at once with Sync templates on the WhatsApp Account.")),
      );
      return;
    }
    this.#select.replaceChildren(
      h("option", { value: "" }, __("Choose a template…")),
      ...this.#templates.map((t) => h("option", { value: t.name }, `${t.template_name} · ${t.language}${t.category ? ` · ${t.category.toLowerCase()}` : ""}`)),
    );
    this.#select.disabled = false;
    this.#select.focus();
    if (this.#templates.length === 1) {
      this.#select.value = this.#templates[0]?.name ?? "";
      this.#choose(this.#select.value);
    }
  }

  #choose(name: string): void {
    this.#template = this.#templates.find((t) => t.name === name) ?? null;
    this.#values = {};
    this.#setFile(null);
    this.#touched.clear();
    this.#attempted = false;
    this.#alert.hidden = true;
    this.#buildFields();
    this.#render();
  }

  #buildFields(): void {
    const template = this.#template;
    if (!template) {
      this.#fields.replaceChildren();
      return;
    }
    if (!template.parameters.length) {
      this.#fields.replaceChildren(h("p", { class: "va-wa-note" }, __("This template has nothing to fill in.")));
      return;
    }
    this.#fields.replaceChildren(...template.parameters.map((p) => this.#field(p)));
  }

  #field(parameter: TemplateParameter): HTMLElement {
    const id = uid(fieldId(parameter));
    const problemId = `${id}-problem`;
    const label = parameterLabel(parameter);
    let input: HTMLInputElement;
    if (parameter.kind === "text") {
      input = h("input", {
        id,
        type: "text",
        class: "form-control va-wa-input",
        required: true,
        maxlength: 1024,
        autocomplete: "off",
        placeholder: parameter.example ? __("e.g. {0}", [parameter.example]) : "",
        "aria-describedby": problemId,
        "data-field": fieldId(parameter),
      });
      input.addEventListener("input", () => {
        (this.#values[parameter.component] ??= {})[valueKey(parameter)] = input.value;
        this.#render();
      });
    } else {
      input = h("input", { id, type: "file", class: "va-wa-file", required: true, accept: ACCEPT[parameter.kind] ?? "", "aria-describedby": problemId, "data-field": fieldId(parameter) });
      input.addEventListener("change", () => {
        this.#setFile(input.files?.[0] ?? null);
        this.#render();
      });
    }
    input.addEventListener("blur", () => {
      this.#touched.add(fieldId(parameter));
      this.#render();
    });
    return h(
      "div",
      { class: "va-wa-field", "data-parameter": fieldId(parameter) },
      h("label", { for: id, class: "va-wa-label" }, label, h("span", { class: "va-wa-required", "aria-hidden": "true" }, " *")),
      input,
      h("p", { class: "va-wa-problem", id: problemId }),
    );
  }

  #setFile(file: File | null): void {
    if (this.#fileUrl) URL.revokeObjectURL(this.#fileUrl);
    this.#file = file;
    this.#fileUrl = file ? URL.createObjectURL(file) : null;
    const media = this.#template?.parameters.find((p) => p.kind !== "text");
    if (media) {
      // A placeholder value while the file is only chosen; the upload's file_url replaces it on send.
      if (file) (this.#values.header ??= {}).media = file.name;
      else if (this.#values.header) delete this.#values.header.media;
    }
  }

  /** Problems, the preview and the Send button, from the current values. */
  #render(): void {
    const template = this.#template;
    if (!template) {
      this.#preview.replaceChildren(h("p", { class: "va-wa-muted" }, __("Choose a template to see the message.")));
      this.#send.dataset.incomplete = "true";
      this.#status.textContent = "";
      return;
    }
    const problems = templateProblems(template, this.#values);
    for (const parameter of template.parameters) {
      const key = fieldId(parameter);
      const wrap = this.#fields.querySelector<HTMLElement>(`[data-parameter="${key}"]`);
      if (!wrap) continue;
      const problem = parameterProblem(parameter, this.#values[parameter.component]?.[valueKey(parameter)]);
      const show = Boolean(problem) && (this.#attempted || this.#touched.has(key));
      wrap.querySelector(".va-wa-problem")!.textContent = show ? (problem ?? "") : "";
      wrap.querySelector("input")?.setAttribute("aria-invalid", String(show));
    }
    this.#renderPreview(template);
    const missing = problems.map((p) => parameterLabel(p.parameter));
    // The button stays operable (a press shows what is missing); it only looks incomplete.
    this.#send.dataset.incomplete = String(problems.length > 0);
    this.#send.setAttribute("aria-busy", String(this.#sending));
    this.#status.textContent = missing.length ? __("To fill in: {0}", [missing.join(", ")]) : "";
  }

  #renderPreview(template: Template): void {
    const { text } = renderTemplate(template, this.#values);
    const header = template.header;
    let headerBlock: HTMLElement | null = null;
    if (header && header.format !== "TEXT") {
      headerBlock =
        header.format === "IMAGE" && this.#fileUrl
          ? h("img", { class: "va-wa-image", src: this.#fileUrl, alt: __("Header image") })
          : h("p", { class: "va-wa-tpl-media" }, icon(header.format === "IMAGE" ? "attach" : "file"), this.#file ? this.#file.name : __("{0} header: choose a file", [header.format.toLowerCase()]));
    }
    const paragraph = h("p", { class: "va-wa-text", "data-ref": "preview-text" });
    for (const part of text.split(PLACEHOLDER_SPLIT)) {
      if (!part) continue;
      paragraph.append(PLACEHOLDER_SPLIT.test(part) ? h("mark", { class: "va-wa-gap" }, part) : part);
    }
    this.#preview.replaceChildren(
      h(
        "div",
        { class: "va-wa-bubble va-wa-preview-bubble" },
        headerBlock,
        paragraph,
        template.buttons.length ? h("ul", { class: "va-wa-options", "aria-label": __("Buttons") }, ...template.buttons.map((b) => h("li", {}, b))) : null,
      ),
    );
  }

  async #submit(): Promise<void> {
    const template = this.#template;
    if (this.#sending) return;
    if (!template) {
      this.#showAlert(__("Choose a template."));
      this.#select.focus();
      return;
    }
    this.#attempted = true;
    this.#render();
    const problems = templateProblems(template, this.#values);
    if (problems.length) {
      const first = problems[0] as (typeof problems)[number];
      this.#fields.querySelector<HTMLElement>(`[data-field="${fieldId(first.parameter)}"]`)?.focus();
      return;
    }
    this.#sending = true;
    this.#alert.hidden = true;
    this.#send.setAttribute("aria-busy", "true");
    this.#status.textContent = __("Sending…");
    try {
      const values: TemplateValues = cleanTemplateValues(template, this.#values);
      if (this.#file) {
        this.#status.textContent = __("Uploading {0}…", [this.#file.name]);
        const uploaded = await this.#opts.api.uploadForSending(this.#file);
        values.header = { ...values.header, media: uploaded.file_url };
      }
      const message = await this.#opts.api.sendMessage(this.#opts.conversation, { kind: "template", template: template.name, template_values: values });
      this.#opts.onSent(message);
      this.dialog.close();
    } catch (error) {
      this.#sending = false;
      this.#status.textContent = "";
      this.#showAlert(errorText(error, __("The template could not be sent.")));
      this.#render();
    }
  }

  #showAlert(text: string): void {
    this.#alert.textContent = text;
    this.#alert.hidden = false;
  }

  #dispose(): void {
    if (this.#fileUrl) URL.revokeObjectURL(this.#fileUrl);
    this.#fileUrl = null;
    this.#opts.onClose?.();
  }
}
