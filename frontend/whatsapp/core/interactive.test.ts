import { describe, expect, it } from "vitest";
import { interactiveOptions, interactiveProblems, type InteractiveDraft } from "./interactive";

const draft = (over: Partial<InteractiveDraft>): InteractiveDraft => ({ kind: "buttons", text: "Which day suits you?", options: [{ title: "Monday", description: "" }], listButton: "", ...over });

describe("interactiveProblems", () => {
  it("accepts what WhatsApp accepts", () => {
    expect(interactiveProblems(draft({}))).toEqual({});
    expect(interactiveProblems(draft({ kind: "list", listButton: "Choose a day", options: [{ title: "Monday", description: "9 to 12" }] }))).toEqual({});
  });

  it("needs a question, and a list its button", () => {
    expect(interactiveProblems(draft({ text: "  " })).text).toMatch(/question/);
    expect(interactiveProblems(draft({ kind: "list" })).listButton).toMatch(/button/);
    expect(interactiveProblems(draft({ kind: "list", listButton: "x".repeat(21) })).listButton).toBe("At most 20 characters");
  });

  it("holds buttons to 3 of 20 characters and list rows to 10 of 24 (72 for descriptions)", () => {
    const four = [1, 2, 3, 4].map((n) => ({ title: `Day ${n}`, description: "" }));
    expect(interactiveProblems(draft({ options: four })).options).toBe("At most 3 options");
    expect(interactiveProblems(draft({ kind: "list", listButton: "Pick", options: four }))).toEqual({});
    expect(interactiveProblems(draft({ options: [{ title: "x".repeat(21), description: "" }] }))["option-0"]).toBe("At most 20 characters");
    expect(interactiveProblems(draft({ kind: "list", listButton: "Pick", options: [{ title: "x".repeat(21), description: "y".repeat(73) }] }))).toEqual({
      "option-0-description": "At most 72 characters",
    });
  });

  it("refuses empty and repeated titles", () => {
    expect(interactiveProblems(draft({ options: [{ title: "", description: "" }] }))).toMatchObject({ options: "Add at least one option", "option-0": "Required" });
    expect(interactiveProblems(draft({ options: [{ title: "Yes", description: "" }, { title: " yes ", description: "" }] }))["option-1"]).toBe("Already an option");
  });
});

describe("interactiveOptions", () => {
  it("numbers the filled options and keeps descriptions on lists only", () => {
    const options = [{ title: " Mon ", description: "am" }, { title: "", description: "" }, { title: "Tue", description: "" }];
    expect(interactiveOptions(draft({ options }))).toEqual([{ id: "1", title: "Mon" }, { id: "2", title: "Tue" }]);
    expect(interactiveOptions(draft({ kind: "list", options }))).toEqual([{ id: "1", title: "Mon", description: "am" }, { id: "2", title: "Tue" }]);
  });
});
