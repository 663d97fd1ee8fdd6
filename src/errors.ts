/**
 * Every error the library answers with. Each has a stable `code` (the `error` field of the JSON
 * response) and an HTTP `status`; tests and apps compare the code, never the message.
 */
export const errorCodes = {
  invalid_request: 400,
  invalid_credentials: 401,
  invalid_grant: 401,
  missing_token: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  csrf_rejected: 403,
  not_found: 404,
  payload_too_large: 413,
  internal_error: 500,
  store_unavailable: 503,
} as const;

export type AuthErrorCode = keyof typeof errorCodes;

/** The base class: `code` and `status` are stable; `message` is for humans. */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: number;

  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = errorCodes[code];
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

export class InvalidRequestError extends AuthError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

export class InvalidCredentialsError extends AuthError {
  constructor() {
    super('invalid_credentials', 'The username or password is wrong.');
  }
}

/** One message for every cause: the client learns nothing about why a refresh token failed. */
export class InvalidGrantError extends AuthError {
  constructor() {
    super('invalid_grant', 'The refresh token is missing, expired, revoked or already used.');
  }
}

export class MissingTokenError extends AuthError {
  constructor() {
    super('missing_token', 'This resource needs a Bearer access token.');
  }
}

export class InvalidTokenError extends AuthError {
  constructor(message = 'The access token is invalid, expired or revoked.', options?: { cause?: unknown }) {
    super('invalid_token', message, options);
  }
}

export class InsufficientScopeError extends AuthError {
  constructor() {
    super('insufficient_scope', 'The access token does not grant the roles or scopes this resource needs.');
  }
}

export class CsrfRejectedError extends AuthError {
  constructor() {
    super('csrf_rejected', 'Cross-site request refused.');
  }
}

export class NotFoundError extends AuthError {
  constructor(message = 'No such session.') {
    super('not_found', message);
  }
}

export class PayloadTooLargeError extends AuthError {
  constructor() {
    super('payload_too_large', 'The request body is too large.');
  }
}

export class InternalError extends AuthError {
  constructor(cause: unknown) {
    super('internal_error', 'The server failed to handle the request.', { cause });
  }
}

export class StoreUnavailableError extends AuthError {
  constructor(cause: unknown) {
    super('store_unavailable', 'The session store is unavailable; try again shortly.', { cause });
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
