/**
 * Where a `transport: 'body'` client keeps its refresh token. Each method may return a promise.
 * Give every client its own storage (one storage holds one session); share one across browser
 * tabs only together with `shareAcrossTabs: true`.
 */
export interface TokenStorage {
  /** The stored refresh token, or `null`/`undefined` when there is none. */
  get(): string | null | undefined | Promise<string | null | undefined>;
  set(refreshToken: string): void | Promise<void>;
  delete(): void | Promise<void>;
}

/** The options of `createAuthClient` (README "Client" > "What it does"). */
export interface AuthClientOptions {
  /**
   * The API's origin, optionally with a path prefix (`'https://api.example.com'`). Relative
   * `fetch` inputs are appended to it, and the Bearer header goes only to its origin. Default in
   * browsers: the page's origin; required elsewhere.
   */
  baseUrl?: string;
  /** Where the auth router is mounted, appended to `baseUrl`. Default `'/auth'`. */
  authPath?: string;
  /**
   * As the server's `refreshToken.transport`. `'cookie'` (default): the refresh token stays in
   * the HttpOnly cookie and the client never sees it. `'body'`: it travels in JSON and is kept
   * in `storage`.
   */
  transport?: 'cookie' | 'body';
  /** The `fetch` to use, always called with one `Request`. Default: the global `fetch`. */
  fetch?: (request: Request) => Promise<Response>;
  /** Body transport: where the refresh token lives. Default: in memory, for this client only. */
  storage?: TokenStorage;
  /**
   * Called once when the session this client was using ends without `logout()` here: a refresh
   * is refused (expired, revoked, logged out everywhere), or another tab logged out or saw its
   * refresh refused. Not called when `refresh()` at start-up finds no session.
   */
  onSessionExpired?: () => void;
  /**
   * Refresh this many seconds before the access token expires. Default 30, and never more than a
   * quarter of the token's lifetime.
   */
  refreshLeewaySeconds?: number;
  /**
   * Refresh on a timer, shortly before the access token expires (at the time set by
   * `refreshLeewaySeconds`), while a session is live, so that an idle page keeps a live token.
   * Tabs that share their tokens refresh once for all. Default: `true` in a browser page, `false`
   * elsewhere (a call then refreshes when the token is due). `stop()` turns it off.
   */
  autoRefresh?: boolean;
  /**
   * Coordinate with the other tabs of this origin: one refresh at a time (Web Locks, else a
   * lease in `localStorage`), and the new access token shared over `BroadcastChannel`. Default:
   * `true` in a browser page with cookie transport, `false` elsewhere.
   */
  shareAcrossTabs?: boolean;
  /** The clock, in ms since the epoch. Default `Date.now`; tests inject their own. */
  now?: () => number;
}

/** The access token's payload, decoded but not verified: for display, never for decisions. */
export interface AccessTokenClaims {
  /** The user id. */
  sub: string;
  /** The session (token family) id. */
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  roles?: string[];
  /** Space-separated scopes. */
  scope?: string;
  /** When the session's sign-in happened, in seconds: a refresh keeps it. */
  auth_time?: number;
  /** How the user signed in (RFC 8176 method names such as `pwd`, `hwk`, `otp`). */
  amr?: string[];
  [claim: string]: unknown;
}

/**
 * One entry of `sessions()`, as `GET /sessions` answers it: one type for both halves (the
 * server's `auth.listSessions` gives the same without `current`).
 */
export interface SessionInfo {
  id: string;
  /** ISO 8601 times. */
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  ip: string | null;
  /** The session of this client's access token. */
  current: boolean;
}

/** The body of `GET /sessions`, which `sessions()` unwraps. */
export interface SessionsResponse {
  sessions: SessionInfo[];
}

/**
 * What `createAuthClient` returns: the router's calls, a drop-in `fetch`, and the current token.
 * One client holds one session.
 */
export interface AuthClient {
  /**
   * `POST /login`. Resolves to the new access token's claims; rejects with an `AuthClientError`
   * (`invalid_credentials`, `invalid_request`, `csrf_rejected`, ...) when the server refuses;
   * `too_many_attempts` (the login throttle) carries `retryAfter`, in seconds.
   */
  login(username: string, password: string): Promise<AccessTokenClaims>;
  /**
   * `POST /logout`: ends this session on the server and forgets it here (and in the other tabs),
   * whatever the outcome. Rejects only when the request itself failed.
   */
  logout(): Promise<void>;
  /** `POST /logout-all`: ends every session of the user, this one included. */
  logoutAll(): Promise<void>;
  /** `GET /sessions`: the user's live sessions. */
  sessions(): Promise<SessionInfo[]>;
  /** `DELETE /sessions/:id`. Revoking the current session signs this client out. */
  revokeSession(id: string): Promise<void>;
  /**
   * A drop-in `fetch`: adds the Bearer header (to `baseUrl`'s origin only), refreshes shortly
   * before the access token expires and once on a 401 `invalid_token`, then replays the request
   * once. Resolves to the response, like `fetch`; a refused refresh gives the 401.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * Stops the automatic refresh timer and leaves the tabs' channel, for a client that is thrown
   * away while signed in (a test, a component unmounted). The session is kept: `logout()` ends it.
   * The timer also stops by itself when the session ends.
   */
  stop(): void;
  /**
   * Refreshes now (sharing a refresh already under way). `true`: a session is live; `false`: the
   * server refused it (no session). Rejects with the network error or an `AuthClientError` when
   * the server could not answer (`store_unavailable`, ...). Call it at start-up to restore a
   * session from the cookie or the storage.
   */
  refresh(): Promise<boolean>;
  /** The current access token, or `null`. */
  readonly accessToken: string | null;
  /** When the current access token expires (by this machine's clock), or `null`. */
  readonly expiresAt: Date | null;
  /** The current access token's claims, or `null`. */
  readonly claims: AccessTokenClaims | null;
}
