import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { InvalidRequestError } from './errors.js';

// The contracts are loaded at run time from the repository, so a change there
// is seen by the sidecar without regenerating anything.
export const contractsDir = process.env.VOICE_AGENT_CONTRACTS_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts');

function loadJson<T = Record<string, unknown>>(name: string): T {
	return JSON.parse(readFileSync(path.join(contractsDir, name), 'utf8')) as T;
}

export const signalingSchema = loadJson<{ requests: Record<string, { request: string; response: string }>; pushes: Record<string, string> }>('signaling.schema.json');
export const httpSchema = loadJson('sidecar-http.schema.json');
export const callEventsSchema = loadJson('call-events.schema.json');
export const callTokenSchema = loadJson('call-token.schema.json');
export const callStates = loadJson<{
	initial: string;
	states: Record<string, { terminal: boolean }>;
	transitions: Record<string, string[]>;
	endReasons: string[];
}>('call-states.json');

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
export const ajv = new Ajv2020({ allErrors: false, strict: false });
addFormats(ajv);
ajv.addSchema(httpSchema as object);
ajv.addSchema(signalingSchema as object);
ajv.addSchema(callEventsSchema as object);
ajv.addSchema(callTokenSchema as object);

const SIGNALING_ID = 'https://voice-agent.local/contracts/signaling.schema.json';
const HTTP_ID = 'https://voice-agent.local/contracts/sidecar-http.schema.json';

function compileRef(ref: string, base: string): ValidateFunction {
	const full = ref.startsWith('#') ? `${base}${ref}` : `${path.posix.dirname(base)}/${ref}`;
	const fn = ajv.getSchema(full);
	if (!fn) throw new Error(`contract schema ${full} not found`);
	return fn;
}

export function signalingRequestValidator(event: string): ValidateFunction {
	const entry = signalingSchema.requests[event];
	if (!entry) throw new Error(`signaling event ${event} is not in the contract`);
	return compileRef(entry.request, SIGNALING_ID);
}

export function signalingResponseValidator(event: string): ValidateFunction {
	const entry = signalingSchema.requests[event];
	if (!entry) throw new Error(`signaling event ${event} is not in the contract`);
	return compileRef(entry.response, SIGNALING_ID);
}

export function signalingPushValidator(event: string): ValidateFunction {
	const ref = signalingSchema.pushes[event];
	if (!ref) throw new Error(`push ${event} is not in the contract`);
	return compileRef(ref, SIGNALING_ID);
}

export function signalingDefValidator(def: string): ValidateFunction {
	return compileRef(`#/$defs/${def}`, SIGNALING_ID);
}

export function httpDefValidator(def: string): ValidateFunction {
	return compileRef(`#/$defs/${def}`, HTTP_ID);
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string {
	if (!errors?.length) return 'invalid';
	return errors.map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`).join('; ');
}

/** Validates at the edge and narrows the type; throws InvalidRequestError naming the first problem. */
export function assertValid<T>(validate: ValidateFunction, value: unknown, what: string): T {
	if (!validate(value)) throw new InvalidRequestError(`${what}: ${describeErrors(validate.errors)}`);
	return value as T;
}
