// Template filling for the picker's live preview and its checks before sending. The same rules as
// the server's (voice_agent/integrations/whatsapp/templates.py: render and check_values), so the
// preview is the text the customer will read and the Send button is only enabled when the server
// would accept the values.
import { __ } from "../../shared/i18n";
import type { Template, TemplateParameter, TemplateValues } from "./types";

const PLACEHOLDER = /\{\{\s*(\d+)\s*\}\}/g;
export const MAX_PARAMETER_CHARS = 1024;

/** The key a parameter's value has in TemplateValues[component]: its index, or "media". */
export function valueKey(parameter: TemplateParameter): string {
  return parameter.kind === "text" ? String(parameter.index) : "media";
}

/** A stable id for a parameter's form field. */
export function fieldId(parameter: TemplateParameter): string {
  return `${parameter.component}-${valueKey(parameter)}`;
}

function given(values: TemplateValues, component: "header" | "body", key: string): string {
  const value = values[component]?.[key];
  return typeof value === "string" ? value.trim() : "";
}

export interface RenderedTemplate {
  /** Header text, body and footer, separated by blank lines, with the values filled in. */
  text: string;
  /** Body placeholders still empty (they stay as {{n}} in the text). */
  missing: number[];
}

/** The text the customer will read (values trimmed, as the server sends them). */
export function renderTemplate(template: Pick<Template, "header" | "body" | "footer">, values: TemplateValues): RenderedTemplate {
  const missing = new Set<number>();
  const fill = (text: string, component: "header" | "body", track: boolean): string =>
    text.replace(PLACEHOLDER, (whole, index: string) => {
      const value = given(values, component, index);
      if (!value) {
        if (track) missing.add(Number(index));
        return whole;
      }
      return value;
    });
  const parts: string[] = [];
  if (template.header && template.header.format === "TEXT" && template.header.text) parts.push(fill(template.header.text, "header", false));
  parts.push(fill(template.body, "body", true));
  if (template.footer) parts.push(template.footer);
  return { text: parts.filter(Boolean).join("\n\n"), missing: [...missing].sort((a, b) => a - b) };
}

/** What is wrong with one value, or null when the server would take it. */
export function parameterProblem(parameter: TemplateParameter, raw: string | undefined): string | null {
  const value = (raw ?? "").trim();
  if (!value) return parameter.kind === "text" ? __("Required") : __("Choose a file");
  if (parameter.kind !== "text") return null;
  if (value.length > MAX_PARAMETER_CHARS) return __("At most {0} characters", [MAX_PARAMETER_CHARS]);
  // Meta refuses line breaks, tabs and runs of more than four spaces in a parameter (132012).
  if (/[\n\t]/.test(value) || value.includes("     ")) return __("No line breaks, tabs or more than four spaces in a row");
  return null;
}

/** Every parameter the values do not satisfy, with why. */
export function templateProblems(template: Pick<Template, "parameters">, values: TemplateValues): { parameter: TemplateParameter; problem: string }[] {
  return template.parameters.flatMap((parameter) => {
    const problem = parameterProblem(parameter, values[parameter.component]?.[valueKey(parameter)]);
    return problem ? [{ parameter, problem }] : [];
  });
}

/** The values to send: trimmed, only the template's own parameters, empty components left out. */
export function cleanTemplateValues(template: Pick<Template, "parameters">, values: TemplateValues): TemplateValues {
  const cleaned: TemplateValues = {};
  for (const parameter of template.parameters) {
    const value = given(values, parameter.component, valueKey(parameter));
    if (!value) continue;
    (cleaned[parameter.component] ??= {})[valueKey(parameter)] = value;
  }
  return cleaned;
}

/** A short human label for a parameter's field. */
export function parameterLabel(parameter: TemplateParameter): string {
  if (parameter.kind !== "text") {
    const what = parameter.kind === "image" ? __("Header image") : parameter.kind === "video" ? __("Header video") : __("Header document");
    return what;
  }
  return parameter.component === "header" ? __("Header {{{0}}}", [parameter.index]) : __("Body {{{0}}}", [parameter.index]);
}
