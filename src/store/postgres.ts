import { groupOption } from '../config/values.js';
import { ConfigurationError } from '../errors.js';
import { migrateSql, schemaSql, statements, tableNames, type TableNames } from './postgres-sql.js';
import type {
  FindFamilyResult,
  LoginAttempt,
  LoginAttemptResult,
  NewFamily,
  RefreshTokenStore,
  RotateRequest,
  RotateResult,
  SessionRecord,
} from './types.js';

/**
 * What the store needs of a PostgreSQL client: `query(text, values)` resolving to `{ rows }`,
 * with `$1, $2, ...` placeholders. A `pg.Pool` is one as it is; for another driver, wrap it (see
 * the README, "PostgresTokenStore"). Structural, so the store's types need no driver's types.
 */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** The options of `new PostgresTokenStore(options)` (README "`PostgresTokenStore`"). */
export interface PostgresTokenStoreOptions {
  /**
   * A `pg.Pool` (or any {@link PostgresQueryable}). The caller owns it: the store never creates,
   * connects or ends it. Create it with {@link recommendedPostgresPoolOptions} and give it an
   * `error` listener.
   */
  pool: PostgresQueryable;
  /**
   * The families table, `table` or `schema.table` (lower-case letters, digits and `_`). The
   * denylist table and the functions are named after it (`<table>_denylist`, `<table>_rotate`, ...).
   * Default `'ert_families'`.
   */
  tableName?: string;
}

/**
 * `pg.Pool` settings for the store's pool: every store call fails fast (the token service
 * answers 503) instead of waiting, and a hung connection is dropped rather than reused.
 *
 * - `connectionTimeoutMillis: 1500`: waiting for a connection (a server that does not accept, or
 *   a pool whose connections are all busy) fails before the token service's 2 s store timeout.
 * - `query_timeout: 1500`: a statement with no answer within 1.5 s rejects on the client, and the
 *   pool discards its connection (a server that hangs while the TCP connection stays up).
 * - `statement_timeout: 1500`: the server cancels a statement still running (or waiting for a
 *   lock) after 1.5 s, so a call the caller was already told failed does not complete later.
 * - `keepAlive: true`: a connection broken by a network partition is noticed by TCP.
 */
export const recommendedPostgresPoolOptions = Object.freeze({
  connectionTimeoutMillis: 1500,
  query_timeout: 1500,
  statement_timeout: 1500,
  keepAlive: true,
});

/** Attempts per call when PostgreSQL aborts it as a serialization failure or a deadlock. */
const MAX_ATTEMPTS = 5;
/** serialization_failure, deadlock_detected: the transaction was rolled back, nothing happened. */
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * The PostgreSQL store (`pg` or any driver with `query(text, values)`). Every method is one
 * statement, hence one round trip and one transaction: a rotation, a login with the session cap
 * and logout-all call a PL/pgSQL function of the schema that locks what it decides on (see
 * postgres-sql.ts). Create the schema with {@link PostgresTokenStore.migrate} or with the SQL of
 * {@link postgresSchema}.
 */
export class PostgresTokenStore implements RefreshTokenStore {
  private readonly pool: PostgresQueryable;
  private readonly names: TableNames;
  private readonly sql: ReturnType<typeof statements>;

  constructor(options: PostgresTokenStoreOptions) {
    const { pool, tableName } = groupOption(options, 'PostgresTokenStore') as Partial<PostgresTokenStoreOptions>;
    if (!pool || typeof (pool as { query?: unknown }).query !== 'function') {
      throw new ConfigurationError(
        'PostgresTokenStore.pool',
        'must be a pg.Pool, or an object with query(text, values) resolving to { rows }',
      );
    }
    this.pool = pool;
    this.names = tableNames(tableName);
    this.sql = statements(this.names);
  }

  /**
   * Creates the tables, indexes and functions if they are missing, and replaces the functions
   * with this version's. Idempotent, one transaction; safe to call from every instance at start-up.
   */
  async migrate(): Promise<void> {
    await this.pool.query(migrateSql(this.names));
  }

  async createFamily(family: NewFamily, limits: { maxSessionsPerUser: number; now: number }): Promise<{ evictedFamilyIds: string[] }> {
    const rows = await this.run(this.sql.createFamily, [
      family.familyId,
      family.userId,
      family.tokenHash,
      family.proofHash,
      family.userRecord, // the subject column
      family.createdAt,
      family.lastUsedAt,
      family.expiresAt,
      family.absoluteExpiresAt,
      family.userAgent ?? null,
      family.ip ?? null,
      limits.now,
      limits.maxSessionsPerUser,
    ]);
    return { evictedFamilyIds: rows.map((row) => String(row.family_id)) };
  }

  async rotate(request: RotateRequest): Promise<RotateResult> {
    const [row] = await this.run(this.sql.rotate, [
      request.familyId,
      request.presentedHash,
      request.proofHash,
      request.successorHash,
      request.sealedSuccessor ?? null,
      request.now,
      request.now + request.idleTtlMs,
      request.graceMs,
    ]);
    const outcome = row?.outcome;
    if (outcome === 'invalid') return { outcome, reason: 'unknown' };
    if (outcome === 'wrong_proof') return { outcome: 'invalid', reason: 'wrong_proof' };
    if (outcome === 'reused') return { outcome, userId: String(row!.user_id) };
    const session = toSession({ ...row!, family_id: request.familyId });
    const userRecord = String(row!.subject);
    if (outcome === 'rotated') return { outcome, session, userRecord };
    if (outcome === 'retried') return { outcome, session, userRecord, sealedSuccessor: String(row!.sealed_successor) };
    throw new Error(`PostgresTokenStore: unexpected answer from the rotate function: ${String(outcome)}`);
  }

  async findFamily(familyId: string, conditions: { proofHash: string; now: number }): Promise<FindFamilyResult> {
    const [row] = await this.run(this.sql.findFamily, [familyId, conditions.proofHash, conditions.now]);
    if (!row) return { outcome: 'invalid', reason: 'unknown' };
    if (row.proof_matches !== true) return { outcome: 'invalid', reason: 'wrong_proof' };
    return { outcome: 'found', session: toSession(row), userRecord: String(row.subject) };
  }

  async revokeFamily(
    familyId: string,
    conditions: { userId?: string; proofHash?: string; now: number },
  ): Promise<{ userId: string } | null> {
    const [row] = await this.run(this.sql.revokeFamily, [
      familyId,
      conditions.now,
      conditions.userId ?? null,
      conditions.proofHash ?? null,
    ]);
    return row ? { userId: String(row.user_id) } : null;
  }

  async revokeUser(userId: string, now: number): Promise<string[]> {
    return (await this.run(this.sql.revokeUser, [userId, now])).map((row) => String(row.family_id));
  }

  async listFamilies(userId: string, now: number): Promise<SessionRecord[]> {
    return (await this.run(this.sql.listFamilies, [userId, now])).map(toSession);
  }

  async denylistAccessToken(entry: { familyId: string; jti: string; expiresAt: number; now: number }): Promise<void> {
    if (entry.expiresAt <= entry.now) return; // already expired: nothing to keep
    await this.run(this.sql.denylistAccessToken, [entry.jti, entry.expiresAt, entry.now]);
  }

  async isAccessTokenRevoked(query: { familyId: string; jti: string; userId: string; now: number }): Promise<boolean> {
    const [row] = await this.run(this.sql.isAccessTokenRevoked, [query.jti, query.familyId, query.userId, query.now]);
    return row?.revoked !== false;
  }

  /** The login throttle's counters, rows of `<table>_login_attempts`: one statement per call. */
  async hitLoginAttempt(attempt: LoginAttempt): Promise<LoginAttemptResult> {
    const { group, counters, now } = attempt;
    const [row] = await this.run(this.sql.hitLoginAttempt, [
      counters.map(({ key }) => `${group}/${key}`),
      counters.map(({ limit }) => limit),
      counters.map(({ windowMs }) => windowMs),
      now,
    ]);
    if (row?.allowed === true) return { allowed: true };
    const counter = counters[Number(row?.counter) - 1];
    if (row?.allowed !== false || counter === undefined)
      throw new Error('PostgresTokenStore: unexpected answer from the hitLoginAttempt function');
    return { allowed: false, retryAfterMs: Number(row.retry_after_ms), key: counter.key };
  }

  async resetLoginAttempts(reset: { group: string; clear: string[]; decrement: string[]; now: number }): Promise<void> {
    const name = (key: string) => `${reset.group}/${key}`;
    await this.run(this.sql.resetLoginAttempts, [reset.clear.map(name), reset.decrement.map(name), reset.now]);
  }

  /** Releases nothing: the pool belongs to the caller, who ends it. */
  async close(): Promise<void> {}

  /**
   * One statement. A serialization failure or a deadlock rolled the statement back, so running it
   * again is safe: retried a few times after a short random pause, then reported like any error.
   */
  private async run(text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pool.query(text, values)).rows;
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !RETRYABLE.has((error as { code?: unknown })?.code as string)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt));
      }
    }
  }
}

/**
 * The schema as SQL (tables, indexes, functions), for a migration tool: what
 * {@link PostgresTokenStore.migrate} runs. Idempotent.
 */
export function postgresSchema(tableName?: string): string {
  return schemaSql(tableNames(tableName));
}

/** A row of the families table as a SessionRecord; bigint columns may come as strings. */
function toSession(row: Record<string, unknown>): SessionRecord {
  const session: SessionRecord = {
    familyId: String(row.family_id),
    userId: String(row.user_id),
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    expiresAt: Number(row.expires_at),
    absoluteExpiresAt: Number(row.absolute_expires_at),
  };
  if (row.user_agent !== null && row.user_agent !== undefined) session.userAgent = String(row.user_agent);
  if (row.ip !== null && row.ip !== undefined) session.ip = String(row.ip);
  return session;
}
