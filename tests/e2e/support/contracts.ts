/// <reference types="node" />
// The contract schemas (contracts/*.schema.json) with ajv, draft 2020-12 + formats — the validator the
// sidecar checks its own contracts with. The e2e fakes of Frappe pass every answer they give through
// it, so a fake cannot answer what the real endpoint may not. ajv is resolved from mediasoup-sidecar's
// packages, which every e2e suite installs.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

interface AjvError {
  instancePath: string;
  message?: string;
}
type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
interface AjvInstance {
  addSchema(schema: object): AjvInstance;
  getSchema(ref: string): Validate | undefined;
  compile(schema: object): Validate;
}

export interface Contracts {
  /** Throws with ajv's words unless `data` is `#/$defs/<definition>` of `contracts/<file>` (or an inline schema). */
  check(file: string, definition: string | object, data: unknown, what?: string): void;
}

export function loadContracts(root: string): Contracts {
  const sidecar = createRequire(join(root, "mediasoup-sidecar/package.json"));
  const { Ajv2020 } = sidecar("ajv/dist/2020.js") as { Ajv2020: new (opts: object) => AjvInstance };
  const formats = sidecar("ajv-formats") as ((ajv: AjvInstance) => AjvInstance) | { default: (ajv: AjvInstance) => AjvInstance };
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (typeof formats === "function" ? formats : formats.default)(ajv);
  const dir = join(root, "contracts");
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".schema.json"))) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, name), "utf8")) as object);
  }
  const cache = new Map<string, Validate>();
  return {
    check(file, definition, data, what) {
      const key = typeof definition === "string" ? `${file}#${definition}` : JSON.stringify(definition);
      let validate = cache.get(key);
      if (!validate) {
        validate = typeof definition === "string"
          ? ajv.getSchema(`https://voice-agent.local/contracts/${file}#/$defs/${definition}`)
          : ajv.compile(definition);
        if (!validate) throw new Error(`no $def ${String(definition)} in contracts/${file}`);
        cache.set(key, validate);
      }
      if (!validate(data)) {
        const why = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`).join("; ");
        throw new Error(`${what ?? key} does not match the contract: ${why}`);
      }
    },
  };
}
