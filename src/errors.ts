/**
 * Every error the library answers with. Each has a stable `code` (the `error` field of the JSON
 * response) and an HTTP `status`; tests and apps compare the code, never the message.
 */
export const errorCodes = {
  invalid_request: 400,
  transport_mismatch: 400,
  invalid_credentials: 401,
  invalid_grant: 401,
  missing_token: 401,
  invalid_token: 401,
  insufficient_user_authentication: 401,
  insufficient_scope: 403,
  csrf_rejected: 403,
  not_found: 404,
  payload_too_large: 413,
  too_many_attempts: 429,
  internal_error: 500,
  store_unavailable: 503,
} as const;

/** The `error` code of every JSON error response (README "Errors"). */
export type AuthErrorCode = keyof typeof errorCodes;

/** Why an access token was refused. */
export type AccessTokenFailureReason =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'unknown_key'
  | 'wrong_algorithm'
  | 'wrong_type'
  | 'unsupported_header'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'too_old'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'bad_claims'
  | 'revoked'
  | 'missing_role'
  | 'missing_scope'
  | 'sign_in_too_old';

/** Why a refresh token was refused. */
export type RefreshTokenFailureReason = 'missing' | 'malformed' | 'unknown_session' | 'wrong_proof' | 'reused' | 'user_removed';

/** Why a request was refused as cross-site. */
export type CsrfFailureReason = 'cross_site' | 'untrusted_origin';

/**
 * Why a request was refused, for operators: on `AuthError.reason` and in the hooks, never in a
 * response (README "Errors": clients learn the `error` code only).
 */
export type AuthFailureReason = AccessTokenFailureReason | RefreshTokenFailureReason | CsrfFailureReason;

/**
 * The base class: `code` and `status` are stable; `message` is for humans; `reason`, when there
 * is one, tells operators why (it is never sent to the client).
 */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: number;
  readonly reason?: AuthFailureReason;

  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown; reason?: AuthFailureReason }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = errorCodes[code];
    if (options?.reason !== undefined) this.reason = options.reason;
  }

  /** The `WWW-Authenticate` header this error carries (RFC 6750 §3), if any. */
  get wwwAuthenticate(): string | undefined {
    switch (this.code) {
      case 'missing_token':
        return 'Bearer';
      case 'invalid_token':
      case 'insufficient_scope':
        return `Bearer error="${this.code}"`;
      default:
        return undefined;
    }
  }

  toJSON(): { error: AuthErrorCode; message: string } {
    return { error: this.code, message: this.message };
  }
}

/** 400 `invalid_request`: a body or parameter the endpoint cannot read; `message` says which. */
export class InvalidRequestError extends AuthError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

/**
 * `POST /login` named a refresh-token transport other than the router's: refused before the
 * password is checked, so no session is started that the client could not keep.
 */
export class TransportMismatchError extends AuthError {
  constructor(serverTransport: string) {
    super(
      'transport_mismatch',
      `This server sends the refresh token by ${serverTransport} transport (refreshToken.transport: '${serverTransport}'); set the client's transport to match.`,
    );
  }
}

/** 401 `invalid_credentials`: `POST /login` with a wrong username or password, the same answer for either. */
export class InvalidCredentialsError extends AuthError {
  constructor() {
    super('invalid_credentials', 'The username or password is wrong.');
  }
}

/** One message for every cause: the client learns nothing about why a refresh token failed. */
export class InvalidGrantError extends AuthError {
  constructor(reason: RefreshTokenFailureReason = 'unknown_session') {
    super('invalid_grant', 'The refresh token is missing, expired, revoked or already used.', { reason });
  }
}

/** 401 `missing_token`: a route that needs a Bearer access token was sent none (`WWW-Authenticate: Bearer`). */
export class MissingTokenError extends AuthError {
  constructor() {
    super('missing_token', 'This resource needs a Bearer access token.', { reason: 'missing' });
  }
}

/** What the client is told, by reason: whether to refresh (expired) or not; nothing more. */
const INVALID_TOKEN_MESSAGES: Partial<Record<AccessTokenFailureReason, string>> = {
  expired: 'The access token has expired.',
  revoked: 'The access token has been revoked.',
};

/**
 * 401 `invalid_token`: the access token failed verification or was revoked; `reason` says which
 * check (for operators), the message only whether refreshing can help.
 */
export class InvalidTokenError extends AuthError {
  constructor(reason: AccessTokenFailureReason, options?: { cause?: unknown; message?: string }) {
    super('invalid_token', options?.message ?? INVALID_TOKEN_MESSAGES[reason] ?? 'The access token is invalid.', {
      cause: options?.cause,
      reason,
    });
  }
}

/** 403 `insufficient_scope`: the access token lacks a role or scope the route requires. */
export class InsufficientScopeError extends AuthError {
  constructor(reason: 'missing_role' | 'missing_scope') {
    super('insufficient_scope', 'The access token does not grant the roles or scopes this resource needs.', { reason });
  }
}

/**
 * The sign-in behind the access token is older than the route allows (RFC 9470): signing in
 * again, not refreshing, gives a token that passes. `maxAge` is the route's limit in seconds.
 */
export class InsufficientUserAuthenticationError extends AuthError {
  readonly maxAge: number;

  constructor(maxAge: number) {
    super('insufficient_user_authentication', 'This resource needs a more recent sign-in.', { reason: 'sign_in_too_old' });
    this.maxAge = maxAge;
  }

  override get wwwAuthenticate(): string {
    return `Bearer error="${this.code}", max_age=${this.maxAge}`;
  }
}

/** 403 `csrf_rejected`: a state-changing request from another site, or from an origin not in `trustedOrigins`. */
export class CsrfRejectedError extends AuthError {
  constructor(reason: CsrfFailureReason) {
    super('csrf_rejected', 'Cross-site request refused.', { reason });
  }
}

/** 404 `not_found`: `DELETE /sessions/:id` named no live session of the caller's user. */
export class NotFoundError extends AuthError {
  constructor(message = 'No such session.') {
    super('not_found', message);
  }
}

/** 413 `payload_too_large`: a body over `bodyLimitBytes`. */
export class PayloadTooLargeError extends AuthError {
  constructor() {
    super('payload_too_large', 'The request body is too large.');
  }
}

/**
 * `POST /login` refused by the login throttle (README "Password guessing"), before any password
 * was checked. `retryAfter` is in whole seconds: the `Retry-After` header.
 */
export class TooManyAttemptsError extends AuthError {
  readonly retryAfter: number;

  constructor(retryAfter: number) {
    super('too_many_attempts', 'Too many failed sign-in attempts; try again later.');
    this.retryAfter = retryAfter;
  }
}

/**
 * 500 `internal_error`: an app callback threw or answered wrongly, or the store gave back what
 * cannot be read; `cause` holds what happened, and is never sent to the client.
 */
export class InternalError extends AuthError {
  constructor(cause: unknown) {
    super('internal_error', 'The server failed to handle the request.', { cause });
  }
}

/** 503 `store_unavailable`: the store failed or missed `storeTimeoutMs`; nothing was issued or changed. */
export class StoreUnavailableError extends AuthError {
  constructor(cause: unknown, message = 'The session store is unavailable; try again shortly.') {
    super('store_unavailable', message, { cause });
  }
}

/** Thrown at start-up for an invalid option; `option` names it (for example `refreshToken.idleTtl`). */
export class ConfigurationError extends Error {
  readonly code = 'invalid_option';
  readonly option: string;

  constructor(option: string, problem: string) {
    super(`express-refresh-tokens: ${option} ${problem}`);
    this.name = 'ConfigurationError';
    this.option = option;
  }
}
