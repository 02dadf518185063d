// Reply buttons and list messages as WhatsApp accepts them (the limits of the server's builders,
// voice_agent/integrations/whatsapp/graph.py): checked while the sender composes them.
import { __ } from "../../shared/i18n";
import type { InteractiveOption } from "./types";

export const LIMITS = {
  body: 1024,
  buttons: 3,
  buttonTitle: 20,
  rows: 10,
  rowTitle: 24,
  rowDescription: 72,
  listButton: 20,
} as const;

export type InteractiveKind = "buttons" | "list";

export interface InteractiveDraft {
  kind: InteractiveKind;
  text: string;
  options: { title: string; description: string }[];
  listButton: string;
}

/** Field -> what is wrong; empty when WhatsApp would take it. Fields: "text", "listButton", "option-N", "option-N-description", "options". */
export function interactiveProblems(draft: InteractiveDraft): Record<string, string> {
  const problems: Record<string, string> = {};
  const text = draft.text.trim();
  if (!text) problems.text = __("Type the question the options answer");
  else if (text.length > LIMITS.body) problems.text = __("At most {0} characters", [LIMITS.body]);
  const max = draft.kind === "buttons" ? LIMITS.buttons : LIMITS.rows;
  const titleMax = draft.kind === "buttons" ? LIMITS.buttonTitle : LIMITS.rowTitle;
  const filled = draft.options.filter((o) => o.title.trim());
  if (!filled.length) problems.options = __("Add at least one option");
  else if (draft.options.length > max) problems.options = __("At most {0} options", [max]);
  const seen = new Set<string>();
  draft.options.forEach((option, i) => {
    const title = option.title.trim();
    if (!title) {
      if (draft.options.length > 1 || !filled.length) problems[`option-${i}`] = __("Required");
      return;
    }
    if (title.length > titleMax) problems[`option-${i}`] = __("At most {0} characters", [titleMax]);
    else if (seen.has(title.toLowerCase())) problems[`option-${i}`] = __("Already an option");
    seen.add(title.toLowerCase());
    if (draft.kind === "list" && option.description.trim().length > LIMITS.rowDescription) {
      problems[`option-${i}-description`] = __("At most {0} characters", [LIMITS.rowDescription]);
    }
  });
  if (draft.kind === "list") {
    const button = draft.listButton.trim();
    if (!button) problems.listButton = __("Name the button that opens the list");
    else if (button.length > LIMITS.listButton) problems.listButton = __("At most {0} characters", [LIMITS.listButton]);
  }
  return problems;
}

/** The options as send_message takes them: ids 1..n, titles trimmed, descriptions for lists only. */
export function interactiveOptions(draft: InteractiveDraft): InteractiveOption[] {
  return draft.options
    .filter((o) => o.title.trim())
    .map((o, i) => {
      const option: InteractiveOption = { id: String(i + 1), title: o.title.trim() };
      if (draft.kind === "list" && o.description.trim()) option.description = o.description.trim();
      return option;
    });
}
