/**
 * What the client's own calls (`login`, `logout`, `sessions`, ...) reject with when the server
 * answers an error: `code` is the response's `error` (`invalid_credentials`, `not_found`, ...,
 * or `http_error` when the body has none) and `status` its HTTP status. Network failures reject
 * with `fetch`'s own error.
 */
export class AuthClientError extends Error {
  readonly code: string;
  readonly status: number;
  /**
   * Seconds to wait before trying again, from the `Retry-After` header: set with
   * `too_many_attempts` (429, a throttled login), undefined when the server sent none.
   */
  readonly retryAfter?: number;

  constructor(code: string, status: number, message?: string, retryAfter?: number) {
    super(message || `${code} (HTTP ${status})`);
    this.name = 'AuthClientError';
    this.code = code;
    this.status = status;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}
