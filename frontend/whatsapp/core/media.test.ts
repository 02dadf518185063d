import { describe, expect, it } from "vitest";
import { attachmentProblem, mediaKind } from "./media";

describe("attachments", () => {
  it("knows the kind of a mime type, parameters and case aside", () => {
    expect(mediaKind("image/PNG")).toBe("image");
    expect(mediaKind("audio/ogg; codecs=opus")).toBe("audio");
    expect(mediaKind("application/pdf")).toBe("document");
    expect(mediaKind("image/gif")).toBeNull();
  });

  it("refuses what WhatsApp refuses, saying why", () => {
    expect(attachmentProblem({ type: "image/png", size: 5 * 1024 * 1024, name: "a.png" })).toBeNull();
    expect(attachmentProblem({ type: "image/png", size: 5 * 1024 * 1024 + 1, name: "a.png" })).toMatch(/WhatsApp accepts image files up to 5 MB/);
    expect(attachmentProblem({ type: "video/mp4", size: 20 * 1024 * 1024, name: "a.mp4" })).toBe("The file is 20 MB; WhatsApp accepts video files up to 16 MB.");
    expect(attachmentProblem({ type: "image/gif", size: 10, name: "a.gif" })).toMatch(/does not accept image\/gif files/);
    expect(attachmentProblem({ type: "", size: 10, name: "setup.exe" })).toMatch(/does not accept exe files/);
    expect(attachmentProblem({ type: "application/pdf", size: 0, name: "a.pdf" })).toBe("The file is empty.");
  });
});
