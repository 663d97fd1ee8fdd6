import type { ResolvedRefreshTokenOptions } from '../config/index.js';
import { InternalError, InvalidTokenError, StoreUnavailableError } from '../errors.js';
import type { RefreshTokenStore, SessionRecord } from '../store/types.js';
import type { AuthUser, SessionInfo } from '../types.js';
import { MAX_CLOCK_TOLERANCE_SECONDS, type AccessClaims, type AccessTokens, type SignIn } from './access-token.js';
import {
  isSessionId,
  newRefreshToken,
  newSession,
  openSuccessor,
  parseRefreshToken,
  sealSuccessor,
  type PresentedRefreshToken,
} from './refresh-token.js';
import { RevocationView } from './revocation-view.js';
import { assertAuthUser, parseGrant, serializeGrant } from './user.js';

export type RefreshPolicy = Pick<
  ResolvedRefreshTokenOptions,
  'idleTtlMs' | 'absoluteTtlMs' | 'graceMs' | 'maxSessionsPerUser' | 'resolveUser'
>;

/** Where a request came from, as the session list shows it. */
export interface ClientContext {
  userAgent?: string;
  ip?: string;
}

export interface IssuedTokens {
  accessToken: string;
  /** Access-token lifetime in seconds. */
  expiresIn: number;
  refreshToken: string;
  session: SessionRecord;
}

/**
 * How a refresh ended: a new access token (`rotated`, or `retried` inside the grace window), or a
 * refusal with its reason: the session was revoked for reuse or because `resolveUser` no longer
 * knows the user, or the token is not a live one of ours.
 */
export type RefreshResult =
  | { outcome: 'rotated' | 'retried'; tokens: IssuedTokens }
  | { outcome: 'reused' | 'user_removed'; userId: string; sessionId: string }
  | { outcome: 'invalid'; reason: 'malformed' | 'unknown_session' | 'wrong_proof' };

type Refusal = Exclude<RefreshResult, { tokens: IssuedTokens }>;

/**
 * Runs one store call with a deadline. Any rejection or a missed deadline becomes
 * `StoreUnavailableError` (503): the request fails closed and issues nothing. A call that missed
 * its deadline may still complete in the store later; for `rotate` that is what the grace window
 * (`reuseGraceSeconds`) absorbs when the client retries.
 */
export async function callStore<T>(timeoutMs: number, operation: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the store did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(operation), deadline]);
  } catch (error) {
    throw new StoreUnavailableError(error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Verifies access tokens, and with a store also checks revocation (denylisted `jti`, revoked
 * session, logout-all) in one store call, or from the in-memory view of `revocation: 'cached'`.
 * Used by `requireAccessToken` and by the router's Bearer-authenticated endpoints.
 */
export class AccessTokenAuthenticator {
  private view: RevocationView | undefined;

  constructor(
    private readonly accessTokens: AccessTokens,
    private readonly store: RefreshTokenStore | undefined,
    private readonly storeTimeoutMs: number,
    private readonly now: () => number,
  ) {}

  /** The authenticator's clock, in whole seconds as token claims count them. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Signature and claims only: no store involved. Throws `InvalidTokenError`. */
  verify(token: string): AccessClaims {
    return this.accessTokens.verify(token, this.now());
  }

  /**
   * The view of `revocation: 'cached'`, one per authenticator, subscribed from the first call on
   * (at start-up: the guards ask for it when they are created). Only with a store that implements
   * `watchRevocations`, which the options check.
   */
  revocationView(): RevocationView {
    if (!this.store) throw new Error('AccessTokenAuthenticator: revocation checks need a store');
    this.view ??= new RevocationView(this.store, this.accessTokens, this.now);
    return this.view;
  }

  /**
   * Throws `InvalidTokenError` when the token was revoked, asking the store. Only for an
   * authenticator with a store. With `maxStalenessMs` (`revocation: 'cached'`) the answer also
   * teaches the view, when it was given while the view was current.
   */
  async assertNotRevoked(claims: AccessClaims, maxStalenessMs?: number): Promise<void> {
    const store = this.store;
    if (!store) throw new Error('AccessTokenAuthenticator: revocation checks need a store');
    const view = maxStalenessMs === undefined ? undefined : this.revocationView();
    // Read before the call: only an answer given entirely inside one current epoch can be kept.
    const epoch = view?.currentEpoch(maxStalenessMs!);
    const query = { familyId: claims.sid, jti: claims.jti, userId: claims.sub, now: this.now() };
    const revoked = await callStore(this.storeTimeoutMs, () => store.isAccessTokenRevoked(query));
    view?.record(claims, revoked, epoch);
    if (revoked) throw new InvalidTokenError('revoked');
  }

  /**
   * The revocation check of `revocation: 'cached'` in the steady state: synchronous, from memory.
   * `true`: live, `false`: unknown to the view, ask {@link assertNotRevoked}. Throws
   * `InvalidTokenError` when the view knows the token revoked.
   */
  isLiveByView(claims: AccessClaims, maxStalenessMs: number): boolean {
    const answer = this.revocationView().check(claims, maxStalenessMs);
    if (answer === 'revoked') throw new InvalidTokenError('revoked');
    return answer === 'live';
  }

  /** Verifies and checks revocation: with the store, or from the view first with `maxStalenessMs`. */
  async authenticate(token: string, maxStalenessMs?: number): Promise<AccessClaims> {
    const claims = this.verify(token);
    if (maxStalenessMs !== undefined && this.isLiveByView(claims, maxStalenessMs)) return claims;
    await this.assertNotRevoked(claims, maxStalenessMs);
    return claims;
  }
}

/**
 * The token service: the only caller of the store. It owns the policy (lifetimes, grace window,
 * session cap, what to revoke when) and leaves the atomic mechanics to the store.
 */
export class TokenService {
  readonly authenticator: AccessTokenAuthenticator;

  constructor(
    private readonly accessTokens: AccessTokens,
    private readonly store: RefreshTokenStore,
    private readonly policy: RefreshPolicy,
    private readonly storeTimeoutMs: number,
    private readonly now: () => number,
  ) {
    this.authenticator = new AccessTokenAuthenticator(accessTokens, store, storeTimeoutMs, now);
  }

  /** Starts a new session for a user who just signed in (`signIn.authTime` at the latest now). */
  async startSession(
    user: AuthUser,
    client: ClientContext,
    signIn: SignIn,
  ): Promise<{ tokens: IssuedTokens; evictedSessionIds: string[] }> {
    const now = this.now();
    const family = newSession(user.id);
    const first = newRefreshToken(family);
    const access = this.accessTokens.sign(user, family.sessionId, signIn, now);
    const absoluteExpiresAt = now + this.policy.absoluteTtlMs;
    const session: SessionRecord = {
      familyId: family.sessionId,
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: Math.min(now + this.policy.idleTtlMs, absoluteExpiresAt),
      absoluteExpiresAt,
      ...definedOnly(client),
    };
    const userRecord = serializeGrant(user, signIn);
    const { evictedFamilyIds } = await this.call(() =>
      this.store.createFamily(
        { ...session, tokenHash: first.hash, proofHash: family.proofHash, userRecord },
        { maxSessionsPerUser: this.policy.maxSessionsPerUser, now },
      ),
    );
    return {
      tokens: { accessToken: access.token, expiresIn: access.expiresIn, refreshToken: first.token, session },
      evictedSessionIds: evictedFamilyIds,
    };
  }

  /**
   * Rotates a presented refresh token (or replays the kept successor inside the grace window).
   * With `resolveUser`, the user is read first, before anything changes: an app error then burns
   * no token.
   */
  async refresh(token: string): Promise<RefreshResult> {
    const presented = parseRefreshToken(token);
    if (!presented) return { outcome: 'invalid', reason: 'malformed' };
    let current: AuthUser | undefined;
    if (this.policy.resolveUser) {
      const resolved = await this.resolveUser(presented, this.policy.resolveUser);
      if ('outcome' in resolved) return resolved;
      current = resolved.user;
    }
    const now = this.now();
    const successor = newRefreshToken(presented);
    const result = await this.call(() =>
      this.store.rotate({
        familyId: presented.sessionId,
        presentedHash: presented.hash,
        proofHash: presented.proofHash,
        successorHash: successor.hash,
        sealedSuccessor: this.policy.graceMs > 0 ? sealSuccessor(successor.token, presented) : undefined,
        now,
        idleTtlMs: this.policy.idleTtlMs,
        graceMs: this.policy.graceMs,
      }),
    );
    if (result.outcome === 'invalid')
      return { outcome: 'invalid', reason: result.reason === 'wrong_proof' ? 'wrong_proof' : 'unknown_session' };
    if (result.outcome === 'reused') return { outcome: 'reused', userId: result.userId, sessionId: presented.sessionId };

    const refreshToken = result.outcome === 'rotated' ? successor.token : openSuccessor(result.sealedSuccessor, presented);
    if (refreshToken === null) return { outcome: 'invalid', reason: 'unknown_session' };
    const grant = parseGrant(result.userRecord, result.session.createdAt);
    const access = this.accessTokens.sign(current ?? grant.user, presented.sessionId, grant.signIn, now);
    return {
      outcome: result.outcome,
      tokens: { accessToken: access.token, expiresIn: access.expiresIn, refreshToken, session: result.session },
    };
  }

  /**
   * Ends the session of a refresh token (any token of the session: whoever holds one may end it)
   * and denylists an access token. Either may be absent or invalid: logout is idempotent.
   */
  async logout(refreshToken: string | undefined, access: AccessClaims | undefined): Promise<{ userId?: string; sessionIds: string[] }> {
    const now = this.now();
    const presented = refreshToken === undefined ? null : parseRefreshToken(refreshToken);
    const revoked = presented
      ? await this.call(() => this.store.revokeFamily(presented.sessionId, { proofHash: presented.proofHash, now }))
      : null;
    if (access) {
      // Until the last moment any verifier may still accept the token: a `requireAccessToken`
      // elsewhere may allow more clock skew than this router, up to the largest tolerance.
      const expiresAt = (access.exp + MAX_CLOCK_TOLERANCE_SECONDS) * 1000;
      const entry = { familyId: access.sid, jti: access.jti, expiresAt, now };
      await this.call(() => this.store.denylistAccessToken(entry));
    }
    return { userId: revoked?.userId ?? access?.sub, sessionIds: revoked && presented ? [presented.sessionId] : [] };
  }

  /** Revokes every session of a user; their access tokens then fail revocation checks. */
  async revokeUser(userId: string): Promise<string[]> {
    return this.call(() => this.store.revokeUser(userId, this.now()));
  }

  /** A user's live sessions, oldest first. */
  async listSessions(userId: string): Promise<SessionInfo[]> {
    const sessions = await this.call(() => this.store.listFamilies(userId, this.now()));
    return sessions.map((session) => ({
      id: session.familyId,
      createdAt: new Date(session.createdAt).toISOString(),
      lastUsedAt: new Date(session.lastUsedAt).toISOString(),
      expiresAt: new Date(session.expiresAt).toISOString(),
      userAgent: session.userAgent ?? null,
      ip: session.ip ?? null,
    }));
  }

  /**
   * Revokes one session, when it is live (and the given user's, when `userId` is given).
   * @returns the session's user, or `null` when nothing was revoked.
   */
  async revokeSession(sessionId: string, conditions: { userId?: string } = {}): Promise<{ userId: string } | null> {
    if (!isSessionId(sessionId)) return null;
    return this.call(() => this.store.revokeFamily(sessionId, { ...conditions, now: this.now() }));
  }

  /**
   * The user as `resolveUser` sees them now, read before the rotation; a refusal when the token is
   * not live, or when the app no longer knows the user (the session is then revoked). A callback
   * that throws, or answers something that is not the session's user, is the app's error:
   * `InternalError`, and nothing has changed.
   */
  private async resolveUser(
    presented: PresentedRefreshToken,
    resolveUser: NonNullable<RefreshPolicy['resolveUser']>,
  ): Promise<{ user: AuthUser } | Refusal> {
    const { sessionId, proofHash } = presented;
    const found = await this.call(() => this.store.findFamily!(sessionId, { proofHash, now: this.now() }));
    if (found.outcome === 'invalid')
      return { outcome: 'invalid', reason: found.reason === 'wrong_proof' ? 'wrong_proof' : 'unknown_session' };
    const { session } = found;
    const { user: signedIn, signIn } = parseGrant(found.userRecord, session.createdAt);
    let user: unknown;
    try {
      user = await resolveUser(session.userId, {
        id: sessionId,
        userId: session.userId,
        user: signedIn,
        createdAt: new Date(session.createdAt),
        authTime: new Date(signIn.authTime),
        amr: signIn.amr,
      });
      if (user !== null && user !== undefined) {
        assertAuthUser(user, 'refreshToken.resolveUser');
        if (user.id !== session.userId)
          throw new TypeError("refreshToken.resolveUser must answer the session's own user (same id), or null");
      }
    } catch (error) {
      throw new InternalError(error);
    }
    if (user === null || user === undefined) {
      await this.call(() => this.store.revokeFamily(sessionId, { proofHash, now: this.now() }));
      return { outcome: 'user_removed', userId: session.userId, sessionId };
    }
    return { user: user as AuthUser };
  }

  private call<T>(operation: () => Promise<T>): Promise<T> {
    return callStore(this.storeTimeoutMs, operation);
  }
}

function definedOnly(client: ClientContext): ClientContext {
  const result: ClientContext = {};
  if (client.userAgent) result.userAgent = client.userAgent;
  if (client.ip) result.ip = client.ip;
  return result;
}
