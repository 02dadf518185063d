// Whitelisted methods and file uploads from a desk bundle, through the desk's own `frappe.call`
// (it carries the session's CSRF token). Errors come back as a FrappeCallError holding Frappe's
// sentence, and `silent: true` keeps the desk from also showing it in a dialog: the bundle shows
// it where it happened.
import type { MethodCaller } from "./frappe-call";
import { FrappeCallError, parseServerMessages } from "./frappe-errors";

/** The part of `frappe.call`'s options a bundle uses. */
export interface DeskCallOptions {
  method: string;
  args: Record<string, unknown>;
  type?: "GET" | "POST";
  silent?: boolean;
  callback?: (r: { message?: unknown }) => void;
  error?: (r: unknown) => void;
}

interface DeskFrappe {
  call(opts: DeskCallOptions): unknown;
  csrf_token?: string;
}

function deskFrappe(): DeskFrappe | undefined {
  const frappe = (globalThis as { frappe?: DeskFrappe }).frappe;
  return frappe && typeof frappe.call === "function" ? frappe : undefined;
}

/**
 * A failed `frappe.call`: its `error` callback gets the parsed body for 417/501, nothing for
 * 500/504, and for 403/404/… only the promise (a jqXHR) rejects, with the jqXHR.
 */
export function deskCallError(failure: unknown): FrappeCallError {
  if (failure instanceof FrappeCallError) return failure;
  const f = (failure ?? {}) as Record<string, unknown>;
  const body = (typeof f.responseJSON === "object" && f.responseJSON !== null ? f.responseJSON : f) as Record<string, unknown>;
  const status = typeof f.status === "number" ? f.status : typeof f.httpStatus === "number" ? f.httpStatus : 0;
  const excType = typeof body.exc_type === "string" ? body.exc_type : typeof body.exception === "string" ? body.exception : "";
  const [first] = parseServerMessages(body._server_messages);
  const fallback = typeof body._error_message === "string" ? body._error_message : "";
  return new FrappeCallError(status, excType, first ?? fallback);
}

/** POSTs through `frappe.call`; resolves with `message`, rejects with a FrappeCallError. */
export function deskCaller(): MethodCaller {
  return {
    post<T>(method: string, args: Record<string, unknown> = {}): Promise<T> {
      const frappe = deskFrappe();
      if (!frappe) return Promise.reject(new FrappeCallError(0, "", "This page is not the Frappe desk (no frappe.call)."));
      return new Promise<T>((resolve, reject) => {
        let settled = false;
        const fail = (failure: unknown): void => {
          if (settled) return;
          settled = true;
          reject(deskCallError(failure));
        };
        const request = frappe.call({
          method,
          args,
          type: "POST",
          silent: true,
          callback: (r) => {
            if (settled) return;
            settled = true;
            resolve(r?.message as T);
          },
          error: fail,
        }) as { then?: (ok: unknown, ko: (xhr: unknown) => void) => unknown } | undefined;
        request?.then?.(undefined, fail);
      });
    },
  };
}

/** What `/api/method/upload_file` answers under `message` (a File document). */
export interface UploadedFile {
  name: string;
  file_url: string;
  file_name?: string;
  file_size?: number;
  is_private?: number;
}

export interface UploadOptions {
  /** The document to attach the file to (Frappe then requires write permission on it); none: the user's own file. */
  doctype?: string;
  docname?: string;
  isPrivate?: boolean;
  fieldname?: string;
  /** Called with 0..1 while the file goes up. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** Frappe's own upload (as its FileUploader does it): multipart POST to /api/method/upload_file. */
export function uploadFile(file: Blob, fileName: string, opts: UploadOptions): Promise<UploadedFile> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/method/upload_file", true);
    xhr.setRequestHeader("Accept", "application/json");
    const token = deskFrappe()?.csrf_token;
    if (token) xhr.setRequestHeader("X-Frappe-CSRF-Token", token);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) opts.onProgress?.(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      const message = (body as { message?: UploadedFile } | null)?.message;
      if (xhr.status === 200 && message && typeof message.file_url === "string") return resolve(message);
      const error = deskCallError({ ...(body as object | null), status: xhr.status });
      if (!error.serverMessage && xhr.status === 413) {
        return reject(new FrappeCallError(413, error.excType, "The file is larger than this site accepts."));
      }
      reject(error);
    });
    xhr.addEventListener("error", () => reject(new FrappeCallError(0, "", "The file could not be sent (no connection).")));
    xhr.addEventListener("abort", () => reject(new FrappeCallError(0, "AbortError", "The upload was cancelled.")));
    opts.signal?.addEventListener("abort", () => xhr.abort());
    const form = new FormData();
    form.append("file", file, fileName);
    form.append("is_private", opts.isPrivate === false ? "0" : "1");
    form.append("folder", "Home/Attachments");
    if (opts.doctype && opts.docname) {
      form.append("doctype", opts.doctype);
      form.append("docname", opts.docname);
    }
    if (opts.fieldname) form.append("fieldname", opts.fieldname);
    xhr.send(form);
  });
}
