/**
 * The storage contract for refresh-token families.
 *
 * A *family* is one login: one device session. It holds the hash of the one refresh token that
 * is current, a little of the token before it (for the idempotent retry), and what is needed to
 * mint access tokens for it again. A store offers atomic mechanisms; the token service decides
 * the policy (which TTLs, how long the grace window is, when to call what).
 *
 * Rules every adapter follows:
 * - Times are milliseconds since the Unix epoch (`number`), and every method that needs the
 *   time is given it as `now`: a store never reads a clock to decide what is live, so the token
 *   service (and the conformance suite) can inject one. A store may still use the real clock to
 *   physically delete records that are long dead (timers, Redis TTLs).
 * - "Live" means: the record exists and `now < expiresAt`. A record that is not live behaves
 *   exactly as if it did not exist.
 * - "Not found" is an ordinary answer (`null`, `false`, an empty array, `{ outcome: 'invalid' }`),
 *   never a rejection.
 * - A rejected promise means "the store could not answer" (connection lost, timeout, out of
 *   memory). The caller then answers 503 and assumes nothing changed, so a method must never
 *   reject after a partial write: each method is all-or-nothing.
 * - Every record written expires by itself: memory is bounded by the number of live sessions.
 * - The store receives only hashes of refresh tokens (base64url SHA-256) and an opaque sealed
 *   successor it cannot open. It must not log or derive anything from them.
 * - A family id begins with the user's 8-character shard key (see `shardKeyOf`), so an adapter
 *   that shards (Redis Cluster) can put every record of one user in one place and answer each
 *   call with one atomic operation.
 */
export interface RefreshTokenStore {
  /**
   * Required. Stores a new family (a login), atomically with enforcing the per-user cap: when the
   * user then has more than `maxSessionsPerUser` live families, the oldest of the *other* ones are
   * revoked until the user has exactly `maxSessionsPerUser`. The new family is never revoked, even
   * when its `createdAt` ties or precedes theirs (app instances whose clocks differ).
   *
   * "Oldest" is one order for every store: smallest `createdAt` first, and among equal
   * `createdAt` the smallest `familyId`, compared byte by byte (Redis's order for equal sorted-set
   * scores; in SQL, `ORDER BY created_at, family_id COLLATE "C"`). `listFamilies` uses it too.
   *
   * @returns the ids of the families revoked to make room (empty when none were).
   */
  createFamily(family: NewFamily, limits: { maxSessionsPerUser: number; now: number }): Promise<{ evictedFamilyIds: string[] }>;

  /**
   * Required. Presents a refresh token of a family and, in one atomic step, decides and applies:
   *
   * 1. The family is not live, or `proofHash` does not match: `{ outcome: 'invalid' }`, nothing
   *    changes. (A token whose family proof is wrong was never issued: it is a guess, not reuse.)
   *    Recommended: say which with `reason: 'unknown'` or `'wrong_proof'` (for operators only).
   * 2. `presentedHash` is the current token: the successor becomes current
   *    (`currentHash = successorHash`, the presented hash becomes `previousHash`, `rotatedAt = now`,
   *    `sealedSuccessor` is kept when given, `lastUsedAt = now`,
   *    `expiresAt = min(now + idleTtlMs, absoluteExpiresAt)`): `{ outcome: 'rotated' }`.
   * 3. `presentedHash` is `previousHash` and `successorHash` is the current hash: the same
   *    rotation arriving twice (a client library re-sending a command). Nothing changes:
   *    `{ outcome: 'rotated' }` again.
   * 4. `presentedHash` is `previousHash`, `graceMs > 0`, `now - rotatedAt <= graceMs` and a
   *    sealed successor is kept: nothing changes, `{ outcome: 'retried', sealedSuccessor }`.
   * 5. Anything else (an older token of this family, or the previous one outside the window):
   *    reuse. The family is revoked in the same atomic step: `{ outcome: 'reused' }`.
   *
   * N concurrent calls with the same presented token and different successors must end with
   * exactly one `rotated`.
   */
  rotate(request: RotateRequest): Promise<RotateResult>;

  /**
   * Required. Revokes one family when it is live and every given condition holds (`userId` is
   * its owner, `proofHash` is its family proof). Revoking is deleting: afterwards the family is
   * not live and none of its tokens works.
   *
   * @returns the revoked family's `userId`, or `null` when nothing matched.
   */
  revokeFamily(familyId: string, conditions: { userId?: string; proofHash?: string; now: number }): Promise<{ userId: string } | null>;

  /**
   * Required. Revokes every family of the user, atomically with respect to `createFamily` and
   * `rotate` of that user: no family created or rotated before this call survives it.
   *
   * @returns the ids of the families revoked.
   */
  revokeUser(userId: string, now: number): Promise<string[]>;

  /**
   * Required. The user's live families, oldest first (the order `createFamily` defines). Must
   * tolerate indexes that point at records which are gone (skip them).
   */
  listFamilies(userId: string, now: number): Promise<SessionRecord[]>;

  /**
   * Required. Adds an access token's `jti` to the denylist until `expiresAt` (in ms: the token's
   * `exp` plus the largest clock tolerance a verifier may allow, so the entry outlives every
   * moment the token can still be accepted); afterwards the entry may vanish. `familyId` is the token's `sid`, given so that a
   * sharded store can keep the entry next to the family.
   */
  denylistAccessToken(entry: { familyId: string; jti: string; expiresAt: number; now: number }): Promise<void>;

  /**
   * Required. The revocation check behind `requireAccessToken({ store })`, answered in one
   * operation: `true` when the `jti` is denylisted, or the family is not live, or the family
   * belongs to another user.
   */
  isAccessTokenRevoked(query: { familyId: string; jti: string; userId: string; now: number }): Promise<boolean>;

  /**
   * Optional; needed for `refreshToken.resolveUser`, which reads the session before rotating it.
   * Reads a family without changing anything: the live family whose proof is `proofHash`, as
   * `rotate` would find it (`{ outcome: 'invalid' }` in its case 1, with the same optional
   * `reason`), with its session record and its `userRecord`.
   */
  findFamily?(familyId: string, conditions: { proofHash: string; now: number }): Promise<FindFamilyResult>;

  /**
   * Optional, recommended for a store shared by several app instances; with `resetLoginAttempts`
   * it keeps the login throttle's counters (README "Password guessing") where every instance sees
   * them. A store without them gets counters in the memory of each process, and a warning at
   * start-up.
   *
   * In one atomic step: when any counter of `attempt.counters` is live (`now < its expiresAt`)
   * and has reached its `limit`, nothing changes and the answer is
   * `{ allowed: false, retryAfterMs, key }`: the time until the latest such counter expires, and its key. Otherwise
   * every counter is raised by one (a counter that is not live starts again at 1, expiring at
   * `now + windowMs`; a live one keeps its expiry) and the answer is `{ allowed: true }`.
   *
   * The attempt is counted *before* the password is checked, and only a success takes it back
   * (`resetLoginAttempts`): so N concurrent attempts can never pass a limit of fewer than N,
   * whatever their passwords. A counter is named by its `key` within the attempt's `group` (the
   * same key in another group is another counter); a sharded store keeps one group in one place
   * (one Redis Cluster slot). Groups and keys are base64url characters and `:`, never a username
   * or an address in clear.
   */
  hitLoginAttempt?(attempt: LoginAttempt): Promise<LoginAttemptResult>;

  /**
   * Optional, with `hitLoginAttempt`. After a successful login, in one atomic step: deletes the
   * counters named in `clear` (the username+IP counter: a success ends a run of failures), and
   * lowers by one each live counter named in `decrement`, never below 0 (the IP counter counts
   * failures only, and `hitLoginAttempt` counted this attempt before it was known to succeed).
   * Keys that are not live are left alone. Same `group` as the `hitLoginAttempt` it follows.
   */
  resetLoginAttempts?(reset: { group: string; clear: string[]; decrement: string[]; now: number }): Promise<void>;

  /**
   * Optional; needed for `revocation: 'cached'` (README "Revocation checks from memory"). Starts
   * (once per store) delivering every revocation the store makes (`revokeFamily`, `revokeUser`,
   * a `rotate` that finds reuse, the families `createFamily` evicts, `denylistAccessToken`) to
   * `listener`, from the moment the feed is subscribed, in the order the store made them. Calling
   * it again adds a listener to the same feed. `close()` stops it.
   *
   * The feed must know whether it can be trusted: see {@link RevocationFeed}.
   */
  watchRevocations?(listener: RevocationListener): RevocationFeed;

  /** Optional. Releases timers or connections the store itself owns (never a caller's client). */
  close?(): Promise<void>;
}

/** What the user-facing session list shows of a family. Times in ms since the epoch. */
export interface SessionRecord {
  familyId: string;
  userId: string;
  createdAt: number;
  lastUsedAt: number;
  /** When the family dies if it is not used again: idle expiry, never later than `absoluteExpiresAt`. */
  expiresAt: number;
  /** When the family dies whatever its use. */
  absoluteExpiresAt: number;
  userAgent?: string;
  ip?: string;
}

/**
 * What `createFamily` stores: a new session (its record, times in ms since the epoch) with the
 * hashes of its first refresh token and of its proof. No secret is ever in it, only hashes.
 */
export interface NewFamily extends SessionRecord {
  /** base64url SHA-256 of the first refresh token. */
  tokenHash: string;
  /** base64url SHA-256 of the family's proof, a secret part shared by all its tokens. */
  proofHash: string;
  /**
   * Opaque to the store (JSON today): the user (id, roles, scopes, claims) and how they signed in,
   * what the token service needs to mint access tokens for this family. Persist it as given and
   * hand it back unchanged. (The built-in stores keep it in a Redis hash field and a PostgreSQL
   * column both named `subject`, the name this property had before: data already stored stays
   * readable.)
   */
  userRecord: string;
}

/**
 * What `rotate` is asked: replace the family's current token (`presentedHash`) by its successor,
 * if the family is live and `proofHash` matches. Times and lifetimes in ms.
 */
export interface RotateRequest {
  familyId: string;
  presentedHash: string;
  proofHash: string;
  successorHash: string;
  /** The successor, encrypted under a key derived from the presented token. Absent when `graceMs` is 0. */
  sealedSuccessor?: string;
  now: number;
  idleTtlMs: number;
  graceMs: number;
}

/** Why a family was `invalid`: not live (unknown, expired, revoked), or a proof that does not match. */
export type InvalidFamilyReason = 'unknown' | 'wrong_proof';

/**
 * What `rotate` answers, one of four outcomes: `rotated` (the presented token was current),
 * `retried` (it was the previous one, within `graceMs`: the same successor again, sealed),
 * `reused` (an older or replayed one: the family is revoked now), `invalid` (not live, or a wrong proof).
 */
export type RotateResult =
  | { outcome: 'rotated'; session: SessionRecord; userRecord: string }
  | { outcome: 'retried'; session: SessionRecord; userRecord: string; sealedSuccessor: string }
  | { outcome: 'reused'; userId: string }
  | { outcome: 'invalid'; reason?: InvalidFamilyReason };

/** What `findFamily` answers: the live family whose proof matches, or `invalid` as `rotate` would say. */
export type FindFamilyResult =
  { outcome: 'found'; session: SessionRecord; userRecord: string } | { outcome: 'invalid'; reason?: InvalidFamilyReason };

/** One counter of the login throttle: at most `limit` attempts per `windowMs`, counted from the first. */
export interface LoginCounter {
  /** Names the counter within its group. */
  key: string;
  limit: number;
  windowMs: number;
}

/** A login attempt, as `hitLoginAttempt` counts it. */
export interface LoginAttempt {
  /** Shared by every counter of the attempt (the client's network), for sharded stores. */
  group: string;
  counters: LoginCounter[];
  now: number;
}

/** Refused: `key` names the counter at its limit (the one that expires last, when several are). */
export type LoginAttemptResult = { allowed: true } | { allowed: false; retryAfterMs: number; key: string };

/** What a revocation feed delivers: families revoked (by id), or an access token's `jti` denylisted until `expiresAt` (ms). */
export type RevocationEvent = { kind: 'families'; familyIds: string[] } | { kind: 'token'; jti: string; expiresAt: number };

/** Called by a store's revocation feed with each revocation, in the order the store made them. */
export type RevocationListener = (event: RevocationEvent) => void;

/**
 * A store's view of its own notifications: whether every revocation made so far has been
 * delivered. The checks read it on every request, so it must answer synchronously.
 */
export interface RevocationFeed {
  /**
   * `undefined` while the feed cannot vouch for anything (not yet subscribed, connection lost).
   * Otherwise `epoch`: a number that changes whenever notifications may have been lost since the
   * last one (a reconnection, a new node), so that what was learned under the old one is
   * forgotten; and `currentAsOf`: a `performance.now()` time such that every revocation the store
   * completed before it, and after the epoch began, has been delivered to the listeners.
   */
  state(): { epoch: number; currentAsOf: number } | undefined;
}
