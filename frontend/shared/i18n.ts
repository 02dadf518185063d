// Frappe's `__()` for desk bundles: the desk's own translator when it is there (it knows the
// user's language and the app's translations), else the English text with `{0}`… filled in.
// Call it with literal strings, `__("Send")`, so Frappe's string extraction finds them.

type Translator = (text: string, replace?: unknown[], context?: string) => string;

/** `{0}`, `{1}`… replaced by the values, as Frappe's `__()` does. */
export function formatText(text: string, replace: readonly unknown[] = []): string {
  return text.replace(/\{(\d+)\}/g, (whole, index: string) => {
    const value = replace[Number(index)];
    return value === undefined ? whole : String(value);
  });
}

export function __(text: string, replace: readonly unknown[] = [], context?: string): string {
  const desk = (globalThis as { __?: unknown }).__;
  if (typeof desk === "function" && desk !== __) return (desk as Translator)(text, [...replace], context);
  return formatText(text, replace);
}
