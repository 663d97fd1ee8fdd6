import type { ResolvedRefreshTokenOptions } from '../config/index.js';
import { InternalError, InvalidTokenError, StoreUnavailableError } from '../errors.js';
import type { RefreshTokenStore, SessionRecord } from '../store/types.js';
import type { AuthUser, SessionInfo } from '../types.js';
import { MAX_CLOCK_TOLERANCE_SECONDS, type AccessClaims, type AccessTokens } from './access-token.js';
import { newFamily, newRefreshToken, openSuccessor, parseRefreshToken, sealSuccessor, isFamilyId } from './refresh-token.js';

export type RefreshPolicy = Pick<ResolvedRefreshTokenOptions, 'idleTtlMs' | 'absoluteTtlMs' | 'graceMs' | 'maxSessionsPerUser'>;

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

export type RefreshResult =
  | { kind: 'rotated' | 'retried'; tokens: IssuedTokens }
  | { kind: 'reused'; userId: string; sessionId: string }
  | { kind: 'invalid' };

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
 * family, logout-all) in one store call. Used by `requireAccessToken` and by the router's
 * Bearer-authenticated endpoints.
 */
export class AccessTokenAuthenticator {
  constructor(
    readonly accessTokens: AccessTokens,
    private readonly store: RefreshTokenStore | undefined,
    private readonly storeTimeoutMs: number,
    private readonly now: () => number,
  ) {}

  /** Signature and claims only: no store involved. Throws `InvalidTokenError`. */
  verify(token: string): AccessClaims {
    return this.accessTokens.verify(token, this.now());
  }

  /** Throws `InvalidTokenError` when the token was revoked. Only for an authenticator with a store. */
  async assertNotRevoked(claims: AccessClaims): Promise<void> {
    const store = this.store;
    if (!store) throw new Error('AccessTokenAuthenticator: revocation checks need a store');
    const query = { familyId: claims.sid, jti: claims.jti, userId: claims.sub, now: this.now() };
    if (await callStore(this.storeTimeoutMs, () => store.isAccessTokenRevoked(query))) {
      throw new InvalidTokenError('The access token has been revoked.');
    }
  }

  async authenticate(token: string): Promise<AccessClaims> {
    const claims = this.verify(token);
    await this.assertNotRevoked(claims);
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

  /** Starts a new family for a user whose credentials were verified. */
  async login(user: AuthUser, client: ClientContext): Promise<{ tokens: IssuedTokens; evictedFamilyIds: string[] }> {
    const now = this.now();
    const family = newFamily(user.id);
    const first = newRefreshToken(family);
    const access = this.accessTokens.sign(user, family.familyId, now);
    const absoluteExpiresAt = now + this.policy.absoluteTtlMs;
    const session: SessionRecord = {
      familyId: family.familyId,
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: Math.min(now + this.policy.idleTtlMs, absoluteExpiresAt),
      absoluteExpiresAt,
      ...definedOnly(client),
    };
    const subject = JSON.stringify({ id: user.id, roles: user.roles, scopes: user.scopes, claims: user.claims } satisfies AuthUser);
    const { evictedFamilyIds } = await this.call(() =>
      this.store.createFamily(
        { ...session, tokenHash: first.hash, proofHash: family.proofHash, subject },
        { maxSessionsPerUser: this.policy.maxSessionsPerUser, now },
      ),
    );
    return { tokens: { accessToken: access.token, expiresIn: access.expiresIn, refreshToken: first.token, session }, evictedFamilyIds };
  }

  /** Rotates a presented refresh token (or replays the kept successor inside the grace window). */
  async refresh(token: string): Promise<RefreshResult> {
    const presented = parseRefreshToken(token);
    if (!presented) return { kind: 'invalid' };
    const now = this.now();
    const successor = newRefreshToken(presented);
    const result = await this.call(() =>
      this.store.rotate({
        familyId: presented.familyId,
        presentedHash: presented.hash,
        proofHash: presented.proofHash,
        successorHash: successor.hash,
        sealedSuccessor: this.policy.graceMs > 0 ? sealSuccessor(successor.token, presented) : undefined,
        now,
        idleTtlMs: this.policy.idleTtlMs,
        graceMs: this.policy.graceMs,
      }),
    );
    if (result.outcome === 'invalid') return { kind: 'invalid' };
    if (result.outcome === 'reused') return { kind: 'reused', userId: result.userId, sessionId: presented.familyId };

    const refreshToken = result.outcome === 'rotated' ? successor.token : openSuccessor(result.sealedSuccessor, presented);
    if (refreshToken === null) return { kind: 'invalid' };
    const access = this.accessTokens.sign(parseSubject(result.subject), presented.familyId, now);
    return {
      kind: result.outcome,
      tokens: { accessToken: access.token, expiresIn: access.expiresIn, refreshToken, session: result.session },
    };
  }

  /**
   * Ends the session of a refresh token (any token of the family: whoever holds one may end it)
   * and denylists an access token. Either may be absent or invalid: logout is idempotent.
   */
  async logout(refreshToken: string | undefined, access: AccessClaims | undefined): Promise<{ userId?: string; sessionIds: string[] }> {
    const now = this.now();
    const presented = refreshToken === undefined ? null : parseRefreshToken(refreshToken);
    const revoked = presented
      ? await this.call(() => this.store.revokeFamily(presented.familyId, { proofHash: presented.proofHash, now }))
      : null;
    if (access) {
      // Until the last moment any verifier may still accept the token: a `requireAccessToken`
      // elsewhere may allow more clock skew than this router, up to the largest tolerance.
      const expiresAt = (access.exp + MAX_CLOCK_TOLERANCE_SECONDS) * 1000;
      const entry = { familyId: access.sid, jti: access.jti, expiresAt, now };
      await this.call(() => this.store.denylistAccessToken(entry));
    }
    return { userId: revoked?.userId ?? access?.sub, sessionIds: revoked && presented ? [presented.familyId] : [] };
  }

  /** Revokes every family of a user; their access tokens then fail revocation checks. */
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
    if (!isFamilyId(sessionId)) return null;
    return this.call(() => this.store.revokeFamily(sessionId, { ...conditions, now: this.now() }));
  }

  private call<T>(operation: () => Promise<T>): Promise<T> {
    return callStore(this.storeTimeoutMs, operation);
  }
}

function parseSubject(subject: string): AuthUser {
  try {
    const user = JSON.parse(subject) as AuthUser;
    if (typeof user?.id === 'string') return user;
  } catch {
    // fall through: a store that returns something it was not given is broken
  }
  throw new InternalError(new Error('the store returned an unreadable family subject'));
}

function definedOnly(client: ClientContext): ClientContext {
  const result: ClientContext = {};
  if (client.userAgent) result.userAgent = client.userAgent;
  if (client.ip) result.ip = client.ip;
  return result;
}
