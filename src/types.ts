import type { KeyObject } from 'node:crypto';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { AuthError } from './errors.js';
import type { SessionInfo as ClientSessionInfo } from './client/types.js';
import type { RefreshTokenStore } from './store/types.js';
import type { JsonWebKeySet } from './tokens/jwks.js';

/** A user as the app knows it: what `verifyCredentials` returns and what access tokens carry. */
export interface AuthUser {
  id: string;
  roles?: string[];
  scopes?: string[];
  /** Extra JWT claims. Never overrides `sub`, `jti`, `sid`, `iat`, `exp`, `iss`, `aud`, `nbf`, `roles` or `scope`. */
  claims?: Record<string, unknown>;
}

/**
 * A length of time: a number of seconds, or a string such as `'30s'`, `'15m'`, `'12h'`, `'14d'`,
 * `'2w'`.
 */
export type Duration = number | string;

/** HMAC with SHA-256, -384 or -512: one shared secret signs and verifies. */
export type SymmetricAlgorithm = 'HS256' | 'HS384' | 'HS512';
/** `EdDSA` is Ed25519 (RFC 8037), signed and verified with Node's own crypto. */
export type AsymmetricAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';
/** Every JWS algorithm an access token may be signed with (never `none`). */
export type Algorithm = SymmetricAlgorithm | AsymmetricAlgorithm;

/** Key material: PEM text, a PEM or raw secret `Buffer`, or a `KeyObject`. */
export type KeyInput = string | Buffer | KeyObject;

interface AccessTokenCommonOptions {
  /** Lifetime of an access token. Default `'15m'`. */
  expiresIn?: Duration;
  /** `iss` claim; when set, tokens with another issuer are refused. */
  issuer?: string;
  /** `aud` claim; when set, tokens for another audience are refused. */
  audience?: string;
  /** Allowed clock skew between servers, in seconds, for `exp` and `iat`. Default 5. */
  clockToleranceSeconds?: number;
}

/** HMAC keys: one shared secret of at least 32 bytes. */
export interface SymmetricAccessTokenOptions extends AccessTokenCommonOptions {
  secret: KeyInput;
  /** Default `'HS256'`. */
  algorithm?: SymmetricAlgorithm;
  privateKey?: never;
  publicKey?: never;
  keys?: never;
}

/**
 * A key pair. Signing (the router) needs `privateKey`; verifying (`requireAccessToken`) needs
 * `publicKey`, or derives it from `privateKey`. RSA keys must be at least 2048 bits; EC keys must
 * be on the algorithm's curve; EdDSA keys Ed25519.
 */
export interface AsymmetricAccessTokenOptions extends AccessTokenCommonOptions {
  algorithm: AsymmetricAlgorithm;
  privateKey?: KeyInput;
  publicKey?: KeyInput;
  secret?: never;
  keys?: never;
}

/**
 * One key of a key set (README "Keys and other services"): a `secret` (HMAC), or a `privateKey`
 * and/or `publicKey`. Tokens it signs carry its `kid`; tokens are verified with the key their
 * `kid` names, with that key's algorithm only.
 */
export interface AccessTokenKey {
  /** Names the key in the JWT header and in the JWKS: a unique, non-empty string. */
  kid: string;
  secret?: KeyInput;
  privateKey?: KeyInput;
  publicKey?: KeyInput;
  /** Default: the set's `algorithm`; with a `secret` and none given, `'HS256'`. */
  algorithm?: Algorithm;
}

/**
 * Several keys, for rotation without downtime: the first key that can sign (a `secret` or a
 * `privateKey`) signs; every key verifies the tokens whose `kid` names it.
 */
export interface KeySetAccessTokenOptions extends AccessTokenCommonOptions {
  keys: AccessTokenKey[];
  /** The algorithm of the keys that name none. */
  algorithm?: Algorithm;
  secret?: never;
  privateKey?: never;
  publicKey?: never;
}

/** How access tokens are signed and verified (README "Keys and other services"): one secret, one key pair, or a key set. */
export type AccessTokenOptions = SymmetricAccessTokenOptions | AsymmetricAccessTokenOptions | KeySetAccessTokenOptions;

/** The refresh cookie's attributes (cookie transport); it is always `HttpOnly`. */
export interface CookieOptions {
  /** Default `'refresh_token'`. */
  name?: string;
  /** Default `'strict'`. */
  sameSite?: 'strict' | 'lax' | 'none';
  /** Default `true`. Set `false` only for plain-HTTP local development. */
  secure?: boolean;
  /** Default: none (a host-only cookie). Must stay unset for a `__Host-` name. */
  domain?: string;
  /**
   * Default: the path the app mounted the router at, as the app wrote it (`app.use('/auth', ...)`
   * gives `/auth`, whatever letter case a request uses); `/` for a `__Host-` name (which needs it),
   * and `/` when the mount path cannot be learned (see the README's options table).
   */
  path?: string;
}

/** How refresh tokens and their sessions live, rotate and travel. */
export interface RefreshTokenOptions {
  /** A session unused this long ends (sliding). Default `'14d'`. */
  idleTtl?: Duration;
  /** A session ends this long after login, whatever its use. Default `'90d'`. */
  absoluteTtl?: Duration;
  /**
   * Seconds during which the token just rotated may be presented again for the same successor.
   * Default 10 with cookie transport (a tab closed or reloaded mid-refresh loses its answer), 0
   * with body transport.
   */
  reuseGraceSeconds?: number;
  /** A login beyond this many live sessions revokes the user's oldest. Default 100. */
  maxSessionsPerUser?: number;
  /** Where the refresh token travels in responses. Default `'cookie'`. */
  transport?: 'cookie' | 'body';
  /** Refresh cookie attributes; a partial object is merged over the defaults. */
  cookie?: CookieOptions;
  /**
   * Reads the user's current roles, scopes and claims at every refresh, so a change shows in the
   * next access token; `null` ends the session (401 `invalid_grant`, the session revoked,
   * `onRevoke` with reason `user_removed`). It runs before the rotation: if it throws, the
   * refresh answers 500 `internal_error` and the refresh token still works. Needs a store with
   * `findFamily` (all three of ours). Default: none, and the claims of the sign-in are kept.
   */
  resolveUser?: ResolveUser;
}

/** What `refreshToken.resolveUser` is told of the session being refreshed. */
export interface RefreshingSession {
  /** The session id (`sid`). */
  id: string;
  userId: string;
  /** The user as the sign-in gave it (`verifyCredentials` or `startSession`). */
  user: AuthUser;
  createdAt: Date;
  /** When the sign-in happened (`auth_time`). */
  authTime: Date;
  /** How the user signed in (`amr`). */
  amr: string[];
}

/** `refreshToken.resolveUser`: the user as the app knows them now, or `null` to end the session. */
export type ResolveUser = (userId: string, session: RefreshingSession) => AuthUser | null | Promise<AuthUser | null>;

/** The options of `auth.startSession(req, res, user, options)`. */
export interface StartSessionOptions {
  /** How the user signed in, as RFC 8176 method names (`'pwd'`, `'hwk'`, `'otp'`, `'fed'`...): the `amr` claim. Default `[]`. */
  amr?: string[];
  /**
   * When the user signed in (the `auth_time` claim), if earlier than now: the identity provider's
   * `auth_time` after a single sign-on that reused its session. A `Date` or ms since the epoch.
   * Default: now.
   */
  authTime?: Date | number;
  /**
   * With cookie transport, a POST (or any method but GET and HEAD) from another site is refused
   * with 403 `csrf_rejected` before any session starts, as at `/login`: otherwise a form on another
   * site could sign the visitor in to the attacker's account. For a route that proved the
   * request's origin itself (an OpenID Connect `form_post` callback whose `state` it checked):
   * the origins it comes from, such as the identity provider's `['https://accounts.example.com']`
   * (with `trustedOrigins`, they pass), or `true` for a POST from anywhere, one whose `Origin` is
   * `null` included. Default `false`.
   */
  allowCrossSite?: boolean | readonly string[];
}

/** The token response, as `POST /login` and `/refresh` answer it. */
export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** Access-token lifetime in seconds. */
  expiresIn: number;
  /** Only with `refreshToken.transport: 'body'`; with cookies it is in `Set-Cookie` only. */
  refreshToken?: string;
}

/** What `onLogin` is told: a session started, by `/login` or `startSession`. */
export interface LoginEvent {
  user: AuthUser;
  sessionId: string;
  /** How the user signed in: `['pwd']` for `/login`, what `startSession` was given otherwise. */
  amr: string[];
  /** Sessions revoked to keep the user within `maxSessionsPerUser`. */
  evictedSessionIds: string[];
  req: Request;
}

/** What `onLoginFailed` is told: `verifyCredentials` answered no user. */
export interface LoginFailedEvent {
  username: string;
  req: Request;
}
/** A `POST /login` refused with 429 `too_many_attempts` before any password was checked. */
export interface LoginThrottledEvent {
  /** The username as the request gave it (counted after NFKC normalisation, trimming and lower-casing). */
  username: string;
  /**
   * The client's network as it was counted: the IPv4 address, the IPv6 prefix (such as
   * `2001:db8:aa00::/56`), or `'unknown'` when `req.ip` is not an address.
   */
  ip: string;
  /** Which limit was reached: `'perUsernameAndIp'` (guessing one account) or `'perIp'` (spraying many). */
  limit: 'perUsernameAndIp' | 'perIp';
  /** Seconds until the client may try again: the `Retry-After` the client was sent. */
  retryAfter: number;
  req: Request;
}

/** What `onRefresh` is told: a refresh token was rotated (or its rotation replayed). */
export interface RefreshEvent {
  userId: string;
  sessionId: string;
  /** True when this was an idempotent retry inside the grace window (nothing rotated). */
  retried: boolean;
  req: Request;
}

/** What `onReuseDetected` is told: an old refresh token came back, and its session was revoked. */
export interface ReuseDetectedEvent {
  userId: string;
  sessionId: string;
  req: Request;
}

/** What `onLogout` is told: `/logout`, `/logout-all` or `DELETE /sessions/:id`. */
export interface LogoutEvent {
  /** Absent when `/logout` was called with no valid refresh or access token. */
  userId?: string;
  /** The sessions this call revoked. */
  sessionIds: string[];
  /** `'logout'`, `'logout-all'` or `'revoke-session'`. */
  kind: 'logout' | 'logout-all' | 'revoke-session';
  req: Request;
}

/**
 * Why sessions were revoked: by the user (`logout`, `logout_all`, `session_deleted` for
 * `DELETE /sessions/:id`), by the library (`reused`, `session_limit`, `user_removed` when
 * `resolveUser` answered null), or by the app through `revokeUser`/`revokeSession` (its own
 * `reason`, `'admin'` by default).
 */
export type RevocationReason =
  'logout' | 'logout_all' | 'session_deleted' | 'reused' | 'session_limit' | 'user_removed' | 'admin' | (string & {});

/** What `onRevoke` is told: whose sessions were revoked, and why. */
export interface RevokeEvent {
  userId: string;
  /** The sessions this revoked (never empty: nothing revoked, no event). */
  sessionIds: string[];
  reason: RevocationReason;
  /** The request that caused it; absent for `revokeUser` and `revokeSession`. */
  req?: Request;
}

/** What `onError` is told. */
export interface ErrorEvent {
  /** What the client was answered (`code`, `status`), and why (`reason`, never sent to the client). */
  error: AuthError;
  req: Request;
}

/**
 * Observers, awaited after the state change they report. A hook that throws does not change the
 * response (the tokens were already issued or revoked); its error is reported with
 * `process.emitWarning`.
 */
export interface AuthHooks {
  onLogin?(event: LoginEvent): void | Promise<void>;
  onLoginFailed?(event: LoginFailedEvent): void | Promise<void>;
  /** A login refused by the throttle (README "Password guessing"); `onLoginFailed` does not fire for it. */
  onLoginThrottled?(event: LoginThrottledEvent): void | Promise<void>;
  onRefresh?(event: RefreshEvent): void | Promise<void>;
  onReuseDetected?(event: ReuseDetectedEvent): void | Promise<void>;
  onLogout?(event: LogoutEvent): void | Promise<void>;
  /** Every revocation of sessions, whoever caused it, with the reason: the audit trail. */
  onRevoke?(event: RevokeEvent): void | Promise<void>;
  /**
   * Every error the router or `auth.requireAccessToken` answers (or passes to `next`), with its
   * operator-only `reason`: for logs and metrics. Not awaited: the answer does not wait for it.
   */
  onError?(event: ErrorEvent): void | Promise<void>;
}

/**
 * The `verifyCredentials` option: the user whose username and password these are, or `null`
 * (401 `invalid_credentials`). A throw is answered 500 `internal_error`.
 */
export type VerifyCredentials = (username: string, password: string, req: Request) => Promise<AuthUser | null> | AuthUser | null;

/** One limit of the login throttle. */
export interface LoginThrottleLimit {
  /** Failed logins allowed within the window; the next attempt gets 429 `too_many_attempts`. */
  failures?: number;
  /** Counted from the first failure: seconds, or a string such as `'15m'` or `'1d'`. */
  window?: Duration;
}

/** The options of `loginThrottle`; a partial object keeps the defaults for the rest. */
export interface LoginThrottleOptions {
  /** Consecutive failures for one username from one network, ended by a success. Default `{ failures: 5, window: '15m' }`. */
  perUsernameAndIp?: LoginThrottleLimit;
  /** Failures from one network, whatever the usernames. Default `{ failures: 100, window: '1d' }`. */
  perIp?: LoginThrottleLimit;
  /** IPv6 clients are counted by their network prefix of this many bits (32 to 128). Default 56. */
  ipv6Prefix?: number;
}

/** The options of `createAuth` (and `createAuthRouter`). */
export interface AuthOptions {
  /** The signing key and the claims options. Required. */
  accessToken: AccessTokenOptions;
  /** Where sessions live: `new MemoryTokenStore()` for one process, `RedisTokenStore` for many. Required. */
  store: RefreshTokenStore;
  /**
   * Checks a username and password for `POST /login`. Default: none, and then the router has no
   * `/login`: sessions start only through `startSession`.
   */
  verifyCredentials?: VerifyCredentials;
  refreshToken?: RefreshTokenOptions;
  /**
   * Origins allowed to call `/login`, and `/refresh` and `/logout` with the cookie, besides the
   * request's own origin (same host). Default `[]`: none besides it.
   */
  trustedOrigins?: string[];
  /** Default `{}`: no hooks. */
  hooks?: AuthHooks;
  /**
   * Limits on failed logins (README "Password guessing"); `false` turns them off. The client is
   * `req.ip`, so set Express's `trust proxy` to match your proxies. Default: on, with the
   * defaults of `LoginThrottleOptions`.
   */
  loginThrottle?: LoginThrottleOptions | boolean;
  /** How long a store call may take before the request fails with 503, in ms. Default 2000. */
  storeTimeoutMs?: number;
  /** Largest JSON body accepted, in bytes. Default 16 384. */
  bodyLimitBytes?: number;
  /** The clock, in ms since the epoch. Default `Date.now`; tests inject their own. */
  now?: () => number;
}

/** The options of `createAuthRouter`: the same as `createAuth`'s. */
export type AuthRouterOptions = AuthOptions;

/** What a route requires of its access token: the options of `auth.requireAccessToken(options)`. */
export interface GuardOptions {
  /** Any one of these roles passes. Default: none required. */
  roles?: string[];
  /** All of these scopes are required. Default: none required. */
  scopes?: string[];
  /** No token: continue without `req.auth`. A bad token still fails. Default `false`. */
  optional?: boolean;
  /**
   * `true`: also refuse a token whose session was revoked (logout, logout-all, reuse,
   * `revokeUser`, `revokeSession`) or whose `jti` was denylisted, at one store call per request.
   * `'cached'`: the same refusals, answered from an in-memory view that the store's notifications
   * keep current (no store call in the steady state), never older than `maxStalenessMs`
   * (README "Revocation checks from memory"); needs a store with `watchRevocations` (memory and
   * Redis). Default `false`: the signature and claims only, no storage touched.
   */
  revocation?: boolean | 'cached';
  /**
   * With `revocation: 'cached'`: how old the view may be, in ms, before the store is asked on
   * each request again (or the request fails with 503 when the store is down). 250 to 60 000.
   * Default 1000.
   */
  maxStalenessMs?: number;
  /**
   * Refuse a token whose sign-in (`auth_time`) is older than this, with 401
   * `insufficient_user_authentication` and `WWW-Authenticate: Bearer
   * error="insufficient_user_authentication", max_age=<seconds>` (RFC 9470): the user must sign in
   * again; a refresh does not help. Default: none.
   */
  maxAuthAge?: Duration;
  /**
   * `'respond'` (default): a refused request is answered here, as JSON (README "Errors").
   * `'next'`: the `AuthError` is passed to `next(error)`, for the app's error handler to answer.
   */
  errors?: 'respond' | 'next';
  /**
   * Where the access token is, for apps that carry it elsewhere (a WebSocket upgrade's
   * subprotocol, a custom header): returns it, or `undefined` when the request has none. It runs
   * synchronously; if it throws or returns anything but a string, the request is refused with 401
   * `invalid_token` (an `AuthError` it throws is answered as itself). Default: the
   * `Authorization: Bearer` header.
   */
  getToken?: (req: Request) => string | undefined | null;
}

/** The standalone `requireAccessToken(options)`: the access-token options, the guard, a store. */
export type RequireAccessTokenOptions = AccessTokenOptions &
  GuardOptions & {
    /** Where revocation is checked. Giving it turns `revocation` on unless `revocation: false`. Default: none. */
    store?: RefreshTokenStore;
    /** As for `createAuth`. Default 2000. */
    storeTimeoutMs?: number;
    /** The clock, in ms since the epoch. Default `Date.now`. */
    now?: () => number;
  };

/**
 * A session as `auth.listSessions` shows it: what `GET /sessions` answers (the client's
 * `SessionInfo`), without `current`, since no request is asking.
 */
export type SessionInfo = Omit<ClientSessionInfo, 'current'>;

/** What `createAuth` returns. */
export interface Auth {
  /** The endpoints (README "Endpoints"): mount it with `app.use('/auth', auth.router)`. */
  router: Router;
  /** Route middleware with the keys of `accessToken`: nothing to repeat. Sets `req.auth`. */
  requireAccessToken(options?: GuardOptions): RequestHandler;
  /**
   * Starts a session for a user your own route signed in (OAuth callback, passkey, magic link,
   * sign-up): sets the refresh cookie (cookie transport) and `Cache-Control: no-store` on `res`,
   * and resolves to the token response for you to send.
   */
  startSession(req: Request, res: Response, user: AuthUser, options?: StartSessionOptions): Promise<TokenResponse>;
  /** Verifies an access token as `requireAccessToken` does, for transports that are not routes (WebSocket, GraphQL). */
  verifyAccessToken(token: string, options?: Pick<GuardOptions, 'revocation' | 'maxStalenessMs'>): Promise<AuthInfo>;
  /** Ends every session of a user. Resolves to the ids of the sessions it ended. */
  revokeUser(userId: string, options?: { reason?: RevocationReason }): Promise<string[]>;
  /** Ends one session. Resolves `true` when it was live. */
  revokeSession(sessionId: string, options?: { reason?: RevocationReason }): Promise<boolean>;
  /** A user's live sessions, oldest first. */
  listSessions(userId: string): Promise<SessionInfo[]>;
  /** The public keys of `accessToken` as a JWKS (RFC 7517), as `GET /jwks.json` serves them; HMAC secrets are never in it. */
  jwks(): JsonWebKeySet;
}

/**
 * The options of `createAccessTokenVerifier`, for services that verify tokens another service
 * signs (README "Keys and other services"): `jwksUri` or `keys`, and the claims to expect.
 */
export interface AccessTokenVerifierOptions {
  /** Where the signer publishes its public keys: `https://auth.example.com/auth/jwks.json`. */
  jwksUri?: string | URL;
  /** Or the keys themselves, as `accessToken.keys` takes them (public keys, or secrets). */
  keys?: AccessTokenKey[];
  /** The algorithms a key may have. Default: every asymmetric algorithm (and HMAC too with `keys`). */
  algorithms?: Algorithm[];
  /** As `accessToken.issuer` of the signer: tokens of another issuer are refused. */
  issuer?: string;
  /** As `accessToken.audience` of the signer. */
  audience?: string;
  /** The signer's `accessToken.expiresIn`: tokens whose `iat` is older are refused. Default `'15m'`. */
  expiresIn?: Duration;
  /** Default 5. */
  clockToleranceSeconds?: number;
  /** How long a JWKS fetch may take, in ms. Default 5000. */
  jwksTimeoutMs?: number;
  /** The largest JWKS accepted, in bytes. Default 65 536. */
  jwksMaxBytes?: number;
  /** At most one fetch per this long for a `kid` the cached set lacks. Default `'30s'`. */
  jwksCooldown?: Duration;
  /**
   * A set cached this long is fetched again, in the background: a key the signer retired stops
   * verifying here within this long. Default `'5m'`, the max-age of the JWKS this package serves.
   */
  jwksCacheMaxAge?: Duration;
  /**
   * A cached set this old is dropped when no fetch could renew it (the JWKS host is down):
   * requests answer 503 until a fetch succeeds, since an old set cannot tell a retired key from a
   * live one. Not shorter than `jwksCacheMaxAge`. Default `'1h'`.
   */
  jwksMaxStale?: Duration;
  /** The clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** What `createAccessTokenVerifier` returns. */
export interface AccessTokenVerifier {
  /** Verifies a token as `requireAccessToken` does; rejects with an `AuthError` (401 `invalid_token`, or 503 when no keys can be had). */
  verify(token: string): Promise<AuthInfo>;
  /** Route middleware, with the options of `auth.requireAccessToken` but revocation (a verifier has no store). */
  requireAccessToken(options?: Omit<GuardOptions, 'revocation'>): RequestHandler;
}

/** What `requireAccessToken` puts on `req.auth`. */
export interface AuthInfo {
  userId: string;
  sessionId: string;
  tokenId: string;
  roles: string[];
  scopes: string[];
  /** When the session's sign-in happened (`auth_time`); undefined for a token that does not say. */
  authTime?: Date;
  /** How the user signed in (`amr`, RFC 8176 method names); empty when the token does not say. */
  amr: string[];
  /** Every claim of the verified token. */
  claims: Record<string, unknown>;
  expiresAt: Date;
}

/**
 * `AuthInfo` under a name no `Express` namespace has: inside it, `AuthInfo` would name
 * `Express.AuthInfo`, which @types/passport declares (an empty interface).
 */
type RequestAuthInfo = AuthInfo;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requireAccessToken()` when the request carries a valid access token. */
      auth?: RequestAuthInfo;
    }
  }
}
