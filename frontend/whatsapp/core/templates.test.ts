import { describe, expect, it } from "vitest";
import { ORDER_UPDATE, SPRING_SALE, TEXT_HEADER } from "./fixtures";
import { cleanTemplateValues, parameterProblem, renderTemplate, templateProblems } from "./templates";

describe("renderTemplate (the live preview)", () => {
  it("fills the body as values are typed and lists what is still missing", () => {
    expect(renderTemplate(ORDER_UPDATE, {})).toEqual({ text: "Hi {{1}}, your order {{2}} has shipped.", missing: [1, 2] });
    expect(renderTemplate(ORDER_UPDATE, { body: { "1": "An" } })).toEqual({ text: "Hi An, your order {{2}} has shipped.", missing: [2] });
    expect(renderTemplate(ORDER_UPDATE, { body: { "1": " Ann ", "2": "SO-7" } })).toEqual({ text: "Hi Ann, your order SO-7 has shipped.", missing: [] });
  });

  it("treats blank values as missing and keeps the placeholder", () => {
    expect(renderTemplate(ORDER_UPDATE, { body: { "1": "   ", "2": "x" } })).toEqual({ text: "Hi {{1}}, your order x has shipped.", missing: [1] });
  });

  it("puts a text header and the footer around the body; header gaps are not 'missing' (the server's rule)", () => {
    expect(renderTemplate(TEXT_HEADER, { body: { "1": "42" } })).toEqual({
      text: "Welcome {{1}}\n\nYour code is 42. Again: 42.\n\nExample Ltd",
      missing: [],
    });
    expect(renderTemplate(TEXT_HEADER, { header: { "1": "Ann" } }).text).toBe("Welcome Ann\n\nYour code is {{1}}. Again: {{1}}.\n\nExample Ltd");
    expect(renderTemplate(TEXT_HEADER, {}).missing).toEqual([1]);
  });

  it("leaves a media header out of the text and accepts spaced placeholders", () => {
    expect(renderTemplate({ ...SPRING_SALE, body: "Hi {{ 1 }}!" }, { body: { "1": "Bo" } }).text).toBe("Hi Bo!\n\nReply STOP to opt out");
  });
});

describe("required values", () => {
  it("requires every parameter, a file for a media header", () => {
    const problems = templateProblems(SPRING_SALE, { body: { "1": "Ann", "3": "Sunday" } });
    expect(problems.map((p) => [p.parameter.component, p.parameter.index, p.problem])).toEqual([
      ["header", 1, "Choose a file"],
      ["body", 2, "Required"],
    ]);
    expect(templateProblems(SPRING_SALE, { header: { media: "/private/files/a.png" }, body: { "1": "A", "2": "B", "3": "C" } })).toEqual([]);
  });

  it("refuses what Meta refuses in a parameter (132012)", () => {
    const p = ORDER_UPDATE.parameters[0]!;
    expect(parameterProblem(p, "two\nlines")).toMatch(/line breaks/);
    expect(parameterProblem(p, "a\tb")).toMatch(/tabs/);
    expect(parameterProblem(p, "a     b")).toMatch(/four spaces/);
    expect(parameterProblem(p, "a    b")).toBeNull();
    expect(parameterProblem(p, "x".repeat(1025))).toMatch(/1024/);
  });

  it("sends only the template's own values, trimmed", () => {
    expect(cleanTemplateValues(ORDER_UPDATE, { body: { "1": " Ann ", "2": "SO-1", "9": "stray" }, header: { "1": "x" } })).toEqual({
      body: { "1": "Ann", "2": "SO-1" },
    });
    expect(cleanTemplateValues(SPRING_SALE, { header: { media: "/private/files/a.png" }, body: { "1": "" } })).toEqual({
      header: { media: "/private/files/a.png" },
    });
  });
});
