import type { AuthErrorCode } from '../errors.js';

/**
 * The `code` of an `AuthClientError`: the server's error codes (README "Errors"), the same union
 * its `AuthError.code` has, plus `http_error` for an error answer without one (a proxy's 502, a
 * body that is not JSON). A type-only import: the client bundle carries none of the server's code.
 */
export type AuthClientErrorCode = AuthErrorCode | 'http_error';

/**
 * What the client's own calls (`login`, `logout`, `sessions`, ...) reject with when the server
 * answers an error: `code` is the response's `error` (`invalid_credentials`, `not_found`, ...,
 * or `http_error` when the body has none) and `status` its HTTP status. Network failures reject
 * with `fetch`'s own error.
 */
export class AuthClientError extends Error {
  /** As the server sent it: a server of another version of this package may send a code this union lacks. */
  readonly code: AuthClientErrorCode;
  readonly status: number;
  /**
   * Seconds to wait before trying again, from the `Retry-After` header: set with
   * `too_many_attempts` (429, a throttled login), undefined when the server sent none.
   */
  readonly retryAfter?: number;

  constructor(code: AuthClientErrorCode, status: number, message?: string, retryAfter?: number) {
    super(message || `${code} (HTTP ${status})`);
    this.name = 'AuthClientError';
    this.code = code;
    this.status = status;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/** The `error` code of an error response, read from a copy so the caller still gets the body. */
export async function errorCodeOf(res: Response): Promise<unknown> {
  try {
    return ((await res.clone().json()) as { error?: unknown }).error;
  } catch {
    return undefined;
  }
}

/** The `AuthClientError` of an error response (its body is read). */
export async function errorOf(res: Response): Promise<AuthClientError> {
  let body: { error?: unknown; message?: unknown } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON: keep the status
  }
  // The server sends whole seconds; the HTTP-date form of Retry-After is not ours and is ignored.
  const retryAfter = /^\d+$/.test(res.headers.get('retry-after') ?? '') ? Number(res.headers.get('retry-after')) : undefined;
  const code = typeof body.error === 'string' ? (body.error as AuthErrorCode) : 'http_error';
  return new AuthClientError(code, res.status, typeof body.message === 'string' ? body.message : undefined, retryAfter);
}
