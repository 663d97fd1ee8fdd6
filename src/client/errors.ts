/**
 * What the client's own calls (`login`, `logout`, `sessions`, ...) reject with when the server
 * answers an error: `code` is the response's `error` (`invalid_credentials`, `not_found`, ...,
 * or `http_error` when the body has none) and `status` its HTTP status. Network failures reject
 * with `fetch`'s own error.
 */
export class AuthClientError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, status: number, message?: string) {
    super(message || `${code} (HTTP ${status})`);
    this.name = 'AuthClientError';
    this.code = code;
    this.status = status;
  }
}
