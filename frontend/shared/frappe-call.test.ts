import { describe, expect, it } from "vitest";
import { FrappeCallError, parseServerMessages, toFrappeCallError } from "./frappe-call";

describe("parseServerMessages", () => {
  it("unwraps Frappe's doubly encoded list and strips markup", () => {
    const raw = JSON.stringify([JSON.stringify({ message: "Profile <b>Dental</b> is not public", indicator: "red" })]);
    expect(parseServerMessages(raw)).toEqual(["Profile Dental is not public"]);
  });

  it("accepts plain strings inside the list", () => {
    expect(parseServerMessages(JSON.stringify(["Too busy"]))).toEqual(["Too busy"]);
  });

  it.each([undefined, "", "not json", "{}", JSON.stringify([JSON.stringify({ title: "x" })])])(
    "returns nothing for %j",
    (raw) => expect(parseServerMessages(raw)).toEqual([]),
  );
});

describe("toFrappeCallError", () => {
  it("keeps status, exception type and the first server message", () => {
    const err = toFrappeCallError({
      httpStatus: 429,
      exc_type: "TooManyRequestsError",
      _server_messages: JSON.stringify([JSON.stringify({ message: "Slow down" })]),
    });
    expect(err).toBeInstanceOf(FrappeCallError);
    expect([err.status, err.excType, err.serverMessage, err.message]).toEqual([429, "TooManyRequestsError", "Slow down", "Slow down"]);
  });

  it("treats a failure without a response as status 0", () => {
    const err = toFrappeCallError({ httpStatus: 0, message: "Network Error" });
    expect(err.status).toBe(0);
    expect(err.message).toBe("Request failed (HTTP 0)");
  });

  it("survives junk", () => {
    expect(toFrappeCallError(null).status).toBe(0);
    expect(toFrappeCallError("boom").serverMessage).toBe("");
  });
});
