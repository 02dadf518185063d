import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

/*
 * Why node:sqlite (WAL + synchronous=FULL) rather than an fsync'd append-only
 * file: the outbox needs three things an append-only log makes awkward —
 * deleting acknowledged events from the front, moving poison events to a
 * dead-letter table, and a per-call sequence counter that survives restarts —
 * all atomically. SQLite gives each of these as one durable transaction, ships
 * with Node 24 (no native npm dependency), and recovers a half-written
 * transaction after a crash by itself.
 */

const SCHEMA_VERSION = 1;
/** A call's sequence counter is forgotten this long after its last event (calls last at most a day). */
const SEQUENCE_RETENTION_MS = 7 * 24 * 3600 * 1000;

export interface OutboxEntry {
	rowId: number;
	eventId: string;
	callId: string;
	/** The event exactly as it is posted (JSON). */
	body: string;
}

export interface DeadLetter extends OutboxEntry {
	status: number;
	reason: string;
	deadAt: string;
}

/**
 * The on-disk store of call events not yet acknowledged by Frappe. Every method
 * is one transaction, committed with an fsync before it returns.
 */
export class Outbox {
	readonly file: string;
	readonly #db: DatabaseSync;
	readonly #nextSequence: StatementSync;
	readonly #insertEvent: StatementSync;
	readonly #peek: StatementSync;
	readonly #countPending: StatementSync;
	readonly #pendingCallIds: StatementSync;
	readonly #countDead: StatementSync;
	#closed = false;

	static open(dir: string): Outbox {
		const file = path.join(dir, 'call-events.sqlite');
		try {
			mkdirSync(dir, { recursive: true });
			return new Outbox(file);
		} catch (error) {
			throw new Error(`cannot open the call-event outbox ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
		}
	}

	private constructor(file: string) {
		this.file = file;
		this.#db = new DatabaseSync(file);
		try {
			this.#db.exec(`
				PRAGMA journal_mode = WAL;
				PRAGMA synchronous = FULL;
				PRAGMA busy_timeout = 5000;
			`);
			this.#migrate();
			this.#nextSequence = this.#db.prepare(`
				INSERT INTO call_sequences (call_id, last_sequence, updated_at) VALUES (?, 1, ?)
				ON CONFLICT (call_id) DO UPDATE SET last_sequence = last_sequence + 1, updated_at = excluded.updated_at
				RETURNING last_sequence`);
			this.#insertEvent = this.#db.prepare('INSERT INTO events (event_id, call_id, body) VALUES (?, ?, ?)');
			this.#peek = this.#db.prepare('SELECT row_id, event_id, call_id, body FROM events ORDER BY row_id LIMIT ?');
			this.#countPending = this.#db.prepare('SELECT count(*) AS n FROM events');
			this.#pendingCallIds = this.#db.prepare('SELECT DISTINCT call_id FROM events ORDER BY call_id');
			this.#countDead = this.#db.prepare('SELECT count(*) AS n FROM dead_letters');
		} catch (error) {
			this.#db.close();
			throw error;
		}
	}

	#migrate(): void {
		const version = Number((this.#db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
		if (version > SCHEMA_VERSION) {
			throw new Error(`outbox ${this.file} has schema version ${version}, newer than this sidecar's ${SCHEMA_VERSION}`);
		}
		this.#db.exec(`
			CREATE TABLE IF NOT EXISTS events (
				row_id   INTEGER PRIMARY KEY AUTOINCREMENT,
				event_id TEXT NOT NULL UNIQUE,
				call_id  TEXT NOT NULL,
				body     TEXT NOT NULL
			);
			CREATE TABLE IF NOT EXISTS call_sequences (
				call_id       TEXT PRIMARY KEY,
				last_sequence INTEGER NOT NULL,
				updated_at    INTEGER NOT NULL
			);
			CREATE TABLE IF NOT EXISTS dead_letters (
				row_id   INTEGER PRIMARY KEY,
				event_id TEXT NOT NULL,
				call_id  TEXT NOT NULL,
				body     TEXT NOT NULL,
				status   INTEGER NOT NULL,
				reason   TEXT NOT NULL,
				dead_at  TEXT NOT NULL
			);
			PRAGMA user_version = ${SCHEMA_VERSION};
		`);
		this.#db
			.prepare('DELETE FROM call_sequences WHERE updated_at < ? AND call_id NOT IN (SELECT call_id FROM events)')
			.run(Date.now() - SEQUENCE_RETENTION_MS);
	}

	/**
	 * Takes the call's next sequence number and stores the event (JSON) that
	 * `build` makes with it, in one transaction. When `build` returns null (the event
	 * is invalid) nothing is stored and the sequence is not consumed.
	 */
	append(callId: string, build: (sequence: number) => { eventId: string; body: string } | null): { eventId: string } | null {
		this.#db.exec('BEGIN IMMEDIATE');
		try {
			const row = this.#nextSequence.get(callId, Date.now()) as { last_sequence: number };
			const event = build(Number(row.last_sequence));
			if (!event) {
				this.#db.exec('ROLLBACK');
				return null;
			}
			this.#insertEvent.run(event.eventId, callId, event.body);
			this.#db.exec('COMMIT');
			return event;
		} catch (error) {
			if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
			throw error;
		}
	}

	/** Deletes the queued events of these types (types Frappe no longer accepts); returns how many. */
	dropEventsOfTypes(types: readonly string[]): number {
		if (types.length === 0) return 0;
		const placeholders = types.map(() => '?').join(', ');
		const result = this.#db.prepare(`DELETE FROM events WHERE json_extract(body, '$.type') IN (${placeholders})`).run(...types);
		return Number(result.changes);
	}

	/** The oldest `limit` events, in the order they were reported. */
	peek(limit: number): OutboxEntry[] {
		return this.#peek.all(limit).map((r) => ({
			rowId: Number(r.row_id),
			eventId: String(r.event_id),
			callId: String(r.call_id),
			body: String(r.body),
		}));
	}

	/** Forgets events Frappe has acknowledged. */
	remove(entries: readonly OutboxEntry[]): void {
		this.#inTransaction(() => {
			const del = this.#db.prepare('DELETE FROM events WHERE row_id = ?');
			for (const e of entries) del.run(e.rowId);
		});
	}

	/** Moves events Frappe refused for good out of the queue, keeping them for inspection. */
	deadLetter(entries: readonly OutboxEntry[], status: number, reason: string): void {
		const deadAt = new Date().toISOString();
		this.#inTransaction(() => {
			const insert = this.#db.prepare(
				'INSERT INTO dead_letters (row_id, event_id, call_id, body, status, reason, dead_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
			);
			const del = this.#db.prepare('DELETE FROM events WHERE row_id = ?');
			for (const e of entries) {
				insert.run(e.rowId, e.eventId, e.callId, e.body, status, reason, deadAt);
				del.run(e.rowId);
			}
		});
	}

	deadLetters(): DeadLetter[] {
		return this.#db
			.prepare('SELECT row_id, event_id, call_id, body, status, reason, dead_at FROM dead_letters ORDER BY row_id')
			.all()
			.map((r) => ({
				rowId: Number(r.row_id),
				eventId: String(r.event_id),
				callId: String(r.call_id),
				body: String(r.body),
				status: Number(r.status),
				reason: String(r.reason),
				deadAt: String(r.dead_at),
			}));
	}

	get pendingCount(): number {
		return Number((this.#countPending.get() as { n: number }).n);
	}

	/** The calls with events still queued. */
	pendingCallIds(): string[] {
		return this.#pendingCallIds.all().map((r) => String(r.call_id));
	}

	get deadLetterCount(): number {
		return Number((this.#countDead.get() as { n: number }).n);
	}

	get closed(): boolean {
		return this.#closed;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#db.close();
	}

	#inTransaction(work: () => void): void {
		this.#db.exec('BEGIN IMMEDIATE');
		try {
			work();
			this.#db.exec('COMMIT');
		} catch (error) {
			if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
			throw error;
		}
	}
}
