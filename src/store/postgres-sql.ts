import { DEFAULTS } from '../config/defaults.js';
import { ConfigurationError } from '../errors.js';

/*
 * The SQL of the PostgreSQL store: the schema (three tables, their indexes and four PL/pgSQL
 * functions) and the statement behind each store method. Each store method is ONE statement, so
 * one round trip, run by PostgreSQL as one implicit transaction: all-or-nothing.
 *
 * The methods that must read, decide and write with no one in between (a rotation, a login with
 * the session cap, logout-all) call a function of the schema, the PostgreSQL counterpart of the
 * Redis store's Lua scripts. Inside a function each statement takes a fresh snapshot (READ
 * COMMITTED), so a statement that follows a lock sees everything committed before the lock:
 *   - rotate locks the family's row (SELECT ... FOR UPDATE): parallel rotations of one family
 *     queue on it, and each decides on what the one before it wrote;
 *   - createFamily and revokeUser take a transaction-scoped advisory lock on the user id first:
 *     logins and logout-all of one user run one at a time, and the cap counts every family
 *     committed before.
 * The other methods are single statements whose row locks suffice (a DELETE that meets a row
 * being rotated waits, then re-checks its conditions on the new version).
 *
 * Under SERIALIZABLE (as a database's default isolation) the same statements are correct and may
 * fail with serialization failures, which the store retries. REPEATABLE READ is refused by the
 * functions that rely on the advisory lock: its snapshot is taken before the lock is granted, so
 * two parallel logins could both escape the session cap.
 *
 * Times are ms since the epoch in bigint columns (the store contract's numbers, exact); every value is
 * a parameter, and the table name, checked by `tableNames`, is the only thing spliced in.
 * Family ids are ordered `COLLATE "C"` (byte order, as the store contract says and Redis does),
 * whatever the database's collation.
 */

/** Dead rows a login (families) or a denylisting (denylist entries) deletes, at most. */
export const CLEANUP_BATCH = 16;

/** Lower-case letters, digits and `_`, not starting with a digit: never needs quoting, never folds. */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** PostgreSQL truncates identifiers at 63 bytes; the longest suffix we add is 20 characters. */
const MAX_TABLE_LENGTH = 40;

/** Every name the schema uses, quoted, derived from the one `tableName`. */
export interface TableNames {
  /** As given (`ert_families` or `auth.ert_families`): the advisory-lock namespace. */
  given: string;
  families: string;
  denylist: string;
  createFamily: string;
  rotate: string;
  revokeUser: string;
  loginAttempts: string;
  hitLoginAttempt: string;
  /** Unqualified (an index lives in its table's schema). */
  index: (suffix: string) => string;
}

/** Checks `tableName` (`table` or `schema.table`) and derives the names. */
export function tableNames(tableName: unknown = DEFAULTS.postgresStore.tableName): TableNames {
  const parts = typeof tableName === 'string' ? tableName.split('.') : [];
  const valid =
    (parts.length === 1 || parts.length === 2) && parts.every((part) => IDENTIFIER.test(part) && part.length <= MAX_TABLE_LENGTH);
  if (!valid) {
    throw new ConfigurationError(
      'PostgresTokenStore.tableName',
      `must be "table" or "schema.table", each of lower-case letters, digits and _ (not starting with a digit, at most ${MAX_TABLE_LENGTH} characters); got ${JSON.stringify(tableName)}`,
    );
  }
  const table = parts.at(-1)!;
  const qualified = (name: string) => (parts.length === 2 ? `"${parts[0]}"."${name}"` : `"${name}"`);
  return {
    given: tableName as string,
    families: qualified(table),
    denylist: qualified(`${table}_denylist`),
    createFamily: qualified(`${table}_create_family`),
    rotate: qualified(`${table}_rotate`),
    revokeUser: qualified(`${table}_revoke_user`),
    loginAttempts: qualified(`${table}_login_attempts`),
    hitLoginAttempt: qualified(`${table}_hit_login_attempt`),
    index: (suffix) => `"${table}_${suffix}"`,
  };
}

/** The tables, their indexes and the functions, as plain SQL statements (idempotent). */
export function schemaSql(names: TableNames): string {
  const { families: F, denylist: D, loginAttempts: A } = names;
  // Raised by the functions that serialise a user's calls with an advisory lock (see the top).
  const refuseRepeatableRead = `IF current_setting('transaction_isolation') = 'repeatable read' THEN
    RAISE EXCEPTION 'express-refresh-tokens: PostgresTokenStore needs READ COMMITTED or SERIALIZABLE, not REPEATABLE READ'
      USING ERRCODE = 'feature_not_supported';
  END IF;
  -- One call per user at a time, so what follows sees every family committed before it.
  PERFORM pg_advisory_xact_lock(hashtext('${names.given}'), hashtext(p_user_id));`;
  return `-- express-refresh-tokens: PostgresTokenStore schema for "${names.given}".
-- Times are milliseconds since the Unix epoch. No token is stored: only SHA-256 hashes, and the
-- current token sealed under a key derived from the one before it, which the store never holds.

CREATE TABLE IF NOT EXISTS ${F} (
  family_id           text   PRIMARY KEY,  -- the session id (the access tokens' sid)
  user_id             text   NOT NULL,
  token_hash          text   NOT NULL,     -- SHA-256 of the current refresh token
  previous_hash       text,                -- SHA-256 of the token before it
  proof_hash          text   NOT NULL,     -- SHA-256 of the family's proof
  rotated_at          bigint,
  sealed_successor    text,                -- for the retry within reuseGraceSeconds
  subject             text   NOT NULL,     -- the user's id, roles, scopes and claims, as JSON
  created_at          bigint NOT NULL,
  last_used_at        bigint NOT NULL,
  expires_at          bigint NOT NULL,     -- idle expiry, never after absolute_expires_at
  absolute_expires_at bigint NOT NULL,
  user_agent          text,
  ip                  text
);
CREATE INDEX IF NOT EXISTS ${names.index('user_id')} ON ${F} (user_id, created_at);
CREATE INDEX IF NOT EXISTS ${names.index('expires_at')} ON ${F} (expires_at);

CREATE TABLE IF NOT EXISTS ${D} (
  jti        text   PRIMARY KEY,  -- a revoked access token's id
  expires_at bigint NOT NULL      -- the token's exp
);
CREATE INDEX IF NOT EXISTS ${names.index('denylist_expires_at')} ON ${D} (expires_at);

CREATE TABLE IF NOT EXISTS ${A} (
  key        text    PRIMARY KEY,  -- a login-throttle counter: '<group>/<key>', hashes only
  count      integer NOT NULL,     -- attempts counted in the window
  expires_at bigint  NOT NULL      -- end of the window
);
CREATE INDEX IF NOT EXISTS ${names.index('login_attempts_expires_at')} ON ${A} (expires_at);

-- RefreshTokenStore.hitLoginAttempt: checks every counter and, when none is live at its limit,
-- counts one on each, on locked rows, so parallel attempts see each other's counts (they queue on
-- the row locks). One row out: allowed, or the wait in ms and the 1-based index of the limiting
-- counter. A refusal leaves no row of its own behind. Then deletes up to ${CLEANUP_BATCH} dead counters of anyone.
CREATE OR REPLACE FUNCTION ${names.hitLoginAttempt}(p_keys text[], p_limits integer[], p_windows bigint[], p_now bigint)
RETURNS TABLE (allowed boolean, retry_after_ms bigint, counter integer)
LANGUAGE plpgsql AS $body$
DECLARE
  c ${A}%ROWTYPE;
  wait bigint := 0;
  which integer := 0;
BEGIN
  -- Every row must exist to be locked: a new one starts dead (count 0, window over). Inserted
  -- and locked in byte order, so two calls that share counters never wait for each other in a cycle.
  INSERT INTO ${A} (key, count, expires_at)
    SELECT k, 0, 0 FROM unnest(p_keys) k ORDER BY k COLLATE "C"
    ON CONFLICT (key) DO NOTHING;
  PERFORM 1 FROM ${A} t WHERE t.key = ANY(p_keys) ORDER BY t.key COLLATE "C" FOR UPDATE;
  FOR i IN 1 .. array_length(p_keys, 1) LOOP
    SELECT * INTO c FROM ${A} t WHERE t.key = p_keys[i];
    IF p_now < c.expires_at AND c.count >= p_limits[i] AND c.expires_at - p_now > wait THEN
      wait := c.expires_at - p_now;
      which := i;
    END IF;
  END LOOP;
  IF which > 0 THEN
    -- Refused: nothing counted, and no dead row of this call left behind, so that a stream of
    -- refused attempts (each cheap: no password is checked) cannot grow the table.
    DELETE FROM ${A} t WHERE t.key = ANY(p_keys) AND t.expires_at <= p_now;
  ELSE
    FOR i IN 1 .. array_length(p_keys, 1) LOOP
      UPDATE ${A} t SET
        count = CASE WHEN p_now < t.expires_at THEN t.count + 1 ELSE 1 END,
        expires_at = CASE WHEN p_now < t.expires_at THEN t.expires_at ELSE p_now + p_windows[i] END
      WHERE t.key = p_keys[i];
    END LOOP;
  END IF;
  -- Bounded: SKIP LOCKED never waits for a row another call holds.
  DELETE FROM ${A} a WHERE a.key IN (
    SELECT d.key FROM ${A} d WHERE d.expires_at <= p_now AND d.key <> ALL(p_keys)
    ORDER BY d.expires_at LIMIT ${CLEANUP_BATCH} FOR UPDATE SKIP LOCKED);
  RETURN QUERY SELECT which = 0, wait, which;
END
$body$;

-- Stores a family and revokes the user's oldest live families beyond the cap (never the new
-- one); returns their ids, oldest first. Then deletes up to ${CLEANUP_BATCH} dead families of anyone.
CREATE OR REPLACE FUNCTION ${names.createFamily}(
  p_family_id text, p_user_id text, p_token_hash text, p_proof_hash text, p_subject text,
  p_created_at bigint, p_last_used_at bigint, p_expires_at bigint, p_absolute_expires_at bigint,
  p_user_agent text, p_ip text, p_now bigint, p_max_sessions integer)
RETURNS SETOF text LANGUAGE plpgsql AS $body$
BEGIN
  ${refuseRepeatableRead}
  INSERT INTO ${F} (family_id, user_id, token_hash, proof_hash, subject, created_at, last_used_at,
    expires_at, absolute_expires_at, user_agent, ip)
  VALUES (p_family_id, p_user_id, p_token_hash, p_proof_hash, p_subject, p_created_at, p_last_used_at,
    p_expires_at, p_absolute_expires_at, p_user_agent, p_ip);
  RETURN QUERY
    WITH evicted AS (
      DELETE FROM ${F} f WHERE f.family_id IN (
        SELECT o.family_id FROM ${F} o
        WHERE o.user_id = p_user_id AND o.expires_at > p_now AND o.family_id <> p_family_id
        ORDER BY o.created_at DESC, o.family_id COLLATE "C" DESC
        OFFSET greatest(p_max_sessions - 1, 0))
      RETURNING f.family_id, f.created_at)
    SELECT e.family_id FROM evicted e ORDER BY e.created_at, e.family_id COLLATE "C";
  -- Bounded: SKIP LOCKED never waits for a row another call holds.
  DELETE FROM ${F} f WHERE f.family_id IN (
    SELECT d.family_id FROM ${F} d WHERE d.expires_at <= p_now
    ORDER BY d.expires_at LIMIT ${CLEANUP_BATCH} FOR UPDATE SKIP LOCKED);
END
$body$;

-- The five cases of RefreshTokenStore.rotate, in its order, on the locked row. One row out:
-- outcome 'invalid' | 'wrong_proof' | 'reused' (with user_id) | 'rotated' | 'retried' (with the
-- session, the subject and, for 'retried', the sealed successor).
CREATE OR REPLACE FUNCTION ${names.rotate}(
  p_family_id text, p_presented_hash text, p_proof_hash text, p_successor_hash text,
  p_sealed_successor text, p_now bigint, p_idle_expires_at bigint, p_grace_ms bigint)
RETURNS TABLE (outcome text, user_id text, created_at bigint, last_used_at bigint, expires_at bigint,
  absolute_expires_at bigint, user_agent text, ip text, subject text, sealed_successor text)
LANGUAGE plpgsql AS $body$
#variable_conflict use_column
DECLARE
  f ${F}%ROWTYPE;
BEGIN
  SELECT * INTO f FROM ${F} t WHERE t.family_id = p_family_id FOR UPDATE;
  -- 1. Not live, or a wrong family proof: a guess, not reuse. Nothing changes.
  IF NOT FOUND OR p_now >= f.expires_at OR f.proof_hash <> p_proof_hash THEN
    RETURN QUERY SELECT CASE WHEN FOUND AND p_now < f.expires_at THEN 'wrong_proof' ELSE 'invalid' END,
      NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  IF p_presented_hash = f.token_hash THEN
    -- 2. The current token: the successor becomes current, the idle expiry slides.
    UPDATE ${F} t SET previous_hash = t.token_hash, token_hash = p_successor_hash, rotated_at = p_now,
      sealed_successor = p_sealed_successor, last_used_at = p_now,
      expires_at = least(p_idle_expires_at, t.absolute_expires_at)
    WHERE t.family_id = p_family_id
    RETURNING * INTO f;
    outcome := 'rotated';
  ELSIF p_presented_hash = f.previous_hash AND p_successor_hash = f.token_hash THEN
    -- 3. The same rotation arriving twice (a re-sent statement): nothing changes.
    outcome := 'rotated';
  ELSIF p_presented_hash = f.previous_hash AND p_grace_ms > 0 AND f.sealed_successor IS NOT NULL
      AND p_now - f.rotated_at <= p_grace_ms THEN
    -- 4. The previous token within the grace window: hand back the kept successor.
    outcome := 'retried';
  ELSE
    -- 5. Reuse: the family is revoked in the same step.
    DELETE FROM ${F} t WHERE t.family_id = p_family_id;
    RETURN QUERY SELECT 'reused', f.user_id, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
      NULL::text, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  RETURN QUERY SELECT outcome, f.user_id, f.created_at, f.last_used_at, f.expires_at, f.absolute_expires_at,
    f.user_agent, f.ip, f.subject, CASE WHEN outcome = 'retried' THEN f.sealed_successor END;
END
$body$;

-- Deletes every family of the user; returns the ids of those that were live, oldest first.
CREATE OR REPLACE FUNCTION ${names.revokeUser}(p_user_id text, p_now bigint)
RETURNS SETOF text LANGUAGE plpgsql AS $body$
BEGIN
  ${refuseRepeatableRead}
  RETURN QUERY
    WITH revoked AS (
      DELETE FROM ${F} f WHERE f.user_id = p_user_id
      RETURNING f.family_id, f.created_at, f.expires_at)
    SELECT r.family_id FROM revoked r WHERE r.expires_at > p_now ORDER BY r.created_at, r.family_id COLLATE "C";
END
$body$;
`;
}

/**
 * `migrate()`'s one statement: the schema in a DO block, so it runs with any driver's ordinary
 * parameterised query, as one transaction, and one instance at a time (app instances that all
 * migrate at start-up would otherwise race on CREATE TABLE IF NOT EXISTS).
 */
export function migrateSql(names: TableNames): string {
  return `DO $migrate$
BEGIN
  PERFORM set_config('client_min_messages', 'warning', true); -- no "already exists, skipping" notices
  PERFORM pg_advisory_xact_lock(hashtext('express-refresh-tokens migrate'), hashtext('${names.given}'));
${schemaSql(names)}
END
$migrate$`;
}

/** The statement of each store method; `$n::type` casts so no driver's type guess matters. */
export function statements(names: TableNames) {
  const { families: F, denylist: D, loginAttempts: A } = names;
  const session = 'family_id, user_id, created_at, last_used_at, expires_at, absolute_expires_at, user_agent, ip';
  return {
    createFamily: `SELECT ${names.createFamily}($1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint, $7::bigint,
      $8::bigint, $9::bigint, $10::text, $11::text, $12::bigint, $13::integer) AS family_id`,
    rotate: `SELECT * FROM ${names.rotate}($1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint, $7::bigint, $8::bigint)`,
    // A live family and whether the proof is its own: no row is 'unknown', a false match 'wrong_proof'.
    findFamily: `SELECT ${session}, subject, proof_hash = $2::text AS proof_matches FROM ${F}
      WHERE family_id = $1::text AND expires_at > $3::bigint`,
    revokeFamily: `DELETE FROM ${F} WHERE family_id = $1::text AND expires_at > $2::bigint
      AND ($3::text IS NULL OR user_id = $3::text) AND ($4::text IS NULL OR proof_hash = $4::text)
      RETURNING user_id`,
    revokeUser: `SELECT ${names.revokeUser}($1::text, $2::bigint) AS family_id`,
    listFamilies: `SELECT ${session} FROM ${F} WHERE user_id = $1::text AND expires_at > $2::bigint
      ORDER BY created_at, family_id COLLATE "C"`,
    // Upsert the entry and delete up to CLEANUP_BATCH dead ones (never the one being written).
    denylistAccessToken: `WITH dead AS (
        DELETE FROM ${D} WHERE jti IN (
          SELECT jti FROM ${D} WHERE expires_at <= $3::bigint AND jti <> $1::text
          ORDER BY expires_at LIMIT ${CLEANUP_BATCH} FOR UPDATE SKIP LOCKED))
      INSERT INTO ${D} AS d (jti, expires_at) VALUES ($1::text, $2::bigint)
      ON CONFLICT (jti) DO UPDATE SET expires_at = greatest(d.expires_at, excluded.expires_at)`,
    hitLoginAttempt: `SELECT * FROM ${names.hitLoginAttempt}($1::text[], $2::integer[], $3::bigint[], $4::bigint)`,
    // Clears the counters of $1 and lowers the live ones of $2 by one; the DELETE's row locks
    // order it with a parallel hit of the same counters.
    resetLoginAttempts: `WITH cleared AS (DELETE FROM ${A} WHERE key = ANY($1::text[]))
      UPDATE ${A} SET count = greatest(count - 1, 0) WHERE key = ANY($2::text[]) AND expires_at > $3::bigint`,
    isAccessTokenRevoked: `SELECT EXISTS (SELECT 1 FROM ${D} WHERE jti = $1::text AND expires_at > $4::bigint)
      OR NOT EXISTS (SELECT 1 FROM ${F} WHERE family_id = $2::text AND user_id = $3::text AND expires_at > $4::bigint)
      AS revoked`,
  } as const;
}
