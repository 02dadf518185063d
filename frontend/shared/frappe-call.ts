import { FrappeApp } from "frappe-js-sdk";

import { FrappeCallError, parseServerMessages } from "./frappe-errors";

export { FrappeCallError, parseServerMessages } from "./frappe-errors";

export function toFrappeCallError(error: unknown): FrappeCallError {
  if (error instanceof FrappeCallError) return error;
  const e = (error ?? {}) as Record<string, unknown>;
  const status = typeof e.httpStatus === "number" ? e.httpStatus : 0;
  const excType = typeof e.exc_type === "string" ? e.exc_type : typeof e.exception === "string" ? e.exception : "";
  const [first] = parseServerMessages(e._server_messages);
  return new FrappeCallError(status, excType, first ?? "");
}

export interface MethodCaller {
  post<T>(method: string, args?: Record<string, unknown>): Promise<T>;
}

/** POSTs to `/api/method/<method>` and returns its `message`, or throws a FrappeCallError. */
export function createMethodCaller(siteUrl: string): MethodCaller {
  const call = new FrappeApp(siteUrl).call();
  return {
    async post<T>(method: string, args: Record<string, unknown> = {}): Promise<T> {
      try {
        const body = (await call.post(method, args)) as { message: T };
        return body.message;
      } catch (error) {
        throw toFrappeCallError(error);
      }
    },
  };
}
