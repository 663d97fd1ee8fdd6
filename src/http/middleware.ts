import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { resolveStandaloneGuard, type ResolvedGuardOptions } from '../config/index.js';
import { InsufficientScopeError, InsufficientUserAuthenticationError, MissingTokenError } from '../errors.js';
import { AccessTokens, type AccessClaims } from '../tokens/access-token.js';
import { AccessTokenAuthenticator } from '../tokens/token-service.js';
import type { AuthInfo, RequireAccessTokenOptions } from '../types.js';
import { bearerToken, locatedToken } from './bearer.js';
import { failRequest, toAuthError, type ErrorObserver } from './respond.js';

/**
 * Route middleware with its own keys (README "requireAccessToken(options)"): passes requests
 * whose Bearer access token is valid and sets `req.auth`. With a `store` it also checks
 * revocation, in one store call, or from memory with `revocation: 'cached'`. `createAuth(...).requireAccessToken()` is the same check with
 * the keys given once.
 */
export function requireAccessToken(options: RequireAccessTokenOptions): RequestHandler {
  const { accessToken, store, storeTimeoutMs, now, guard } = resolveStandaloneGuard(options);
  // Unless the store is asked on each request anyway, a token seen before skips the signature check (see AccessTokens).
  const accessTokens = new AccessTokens(accessToken, { cacheVerified: guard.revocation !== 'store' });
  return accessTokenGuard(new AccessTokenAuthenticator(accessTokens, store, storeTimeoutMs, now), guard);
}

/**
 * What the guard verifies tokens with: an `AccessTokenAuthenticator`, or the verifier of
 * `createAccessTokenVerifier`, whose `verify` is asynchronous only when it must fetch keys.
 */
export interface TokenAuthenticator {
  verify(token: string): AccessClaims | Promise<AccessClaims>;
  nowSeconds(): number;
  /** With `maxStalenessMs` (`revocation: 'cached'`), the store's answer also teaches the view. */
  assertNotRevoked(claims: AccessClaims, maxStalenessMs?: number): Promise<void>;
  /** Only for `revocation: 'cached'`, which the options allow only with a store that can serve it. */
  revocationView?(): unknown;
  isLiveByView?(claims: AccessClaims, maxStalenessMs: number): boolean;
}

/**
 * The middleware behind every `requireAccessToken`. The stateless path, and the cached one while
 * its view is current, stay synchronous when the keys are at hand: no promise and no timer per
 * request.
 */
export function accessTokenGuard(
  authenticator: TokenAuthenticator,
  options: ResolvedGuardOptions,
  observe?: ErrorObserver,
): RequestHandler {
  const { roles, scopes, optional, revocation, maxStalenessMs, maxAuthAgeSeconds, errors, getToken } = options;
  // Subscribe now, at start-up, so the view is current by the first requests.
  if (revocation === 'cached') authenticator.revocationView!();
  const staleness = revocation === 'cached' ? maxStalenessMs : undefined;

  function fail(req: Request, res: Response, next: NextFunction, error: unknown): void {
    if (errors === 'respond') return failRequest(req, res, error, observe);
    const authError = toAuthError(error);
    observe?.(authError, req);
    next(authError);
  }

  function admit(req: Request, res: Response, next: NextFunction, claims: AccessClaims): void {
    if (roles && !roles.some((role) => claims.roles.includes(role)))
      return fail(req, res, next, new InsufficientScopeError('missing_role'));
    if (scopes && !scopes.every((scope) => claims.scopes.includes(scope)))
      return fail(req, res, next, new InsufficientScopeError('missing_scope'));
    // A token that does not say when its sign-in was cannot prove it recent.
    if (
      maxAuthAgeSeconds !== undefined &&
      (claims.authTime === undefined || authenticator.nowSeconds() - claims.authTime > maxAuthAgeSeconds)
    ) {
      return fail(req, res, next, new InsufficientUserAuthenticationError(maxAuthAgeSeconds));
    }
    req.auth = toAuthInfo(claims);
    next();
  }

  function verified(req: Request, res: Response, next: NextFunction, claims: AccessClaims): void {
    try {
      if (revocation === 'none' || (staleness !== undefined && authenticator.isLiveByView!(claims, staleness))) {
        return admit(req, res, next, claims);
      }
    } catch (error) {
      return fail(req, res, next, error);
    }
    authenticator
      .assertNotRevoked(claims, staleness)
      .then(() => admit(req, res, next, claims))
      .catch((error: unknown) => fail(req, res, next, error));
  }

  return (req, res, next) => {
    let claims: AccessClaims | Promise<AccessClaims>;
    try {
      const token = getToken ? locatedToken(getToken, req) : bearerToken(req);
      if (token === undefined) {
        if (optional) return next();
        throw new MissingTokenError();
      }
      claims = authenticator.verify(token);
    } catch (error) {
      return fail(req, res, next, error);
    }
    if (!(claims instanceof Promise)) return verified(req, res, next, claims);
    claims.then(
      (fetched) => verified(req, res, next, fetched),
      (error: unknown) => fail(req, res, next, error),
    );
  };
}

export function toAuthInfo(claims: AccessClaims): AuthInfo {
  return {
    userId: claims.sub,
    sessionId: claims.sid,
    tokenId: claims.jti,
    roles: claims.roles,
    scopes: claims.scopes,
    authTime: claims.authTime === undefined ? undefined : new Date(claims.authTime * 1000),
    amr: claims.amr,
    claims: claims.claims,
    expiresAt: new Date(claims.exp * 1000),
  };
}
