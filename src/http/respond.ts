import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { AuthError, InternalError, InvalidRequestError, PayloadTooLargeError, TooManyAttemptsError } from '../errors.js';

/**
 * The one place where an error becomes a response: JSON `{ error, message }` with the status and
 * `WWW-Authenticate` (or `Retry-After`) of its code, never a stack trace. Unexpected errors become `internal_error`
 * and are reported to the process (they are the app's to see, not the client's).
 */
export function sendError(res: Response, error: unknown): void {
  const authError = toAuthError(error);
  if (authError instanceof InternalError) reportError(authError.cause ?? authError, 'internal_error');
  if (res.headersSent) {
    res.end();
    return;
  }
  if (authError.wwwAuthenticate) res.set('WWW-Authenticate', authError.wwwAuthenticate);
  if (authError instanceof TooManyAttemptsError) res.set('Retry-After', String(authError.retryAfter));
  res.set('Cache-Control', 'no-store');
  sendJson(res, authError.status, authError.toJSON());
}

/**
 * Every JSON answer of the library. Not `res.json`: its `res.send` adds an `ETag` and answers a
 * matching `If-None-Match` (or `*`) with a bodyless 304, and nothing here may be cached.
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).set('Content-Type', 'application/json; charset=utf-8').end(JSON.stringify(body));
}

/** Told of every error a request is answered with (or passed on with), before it is. */
export type ErrorObserver = (error: AuthError, req: Request) => void;

/** Answers a request with an error, after telling `observe`. */
export function failRequest(req: Request, res: Response, error: unknown, observe?: ErrorObserver): void {
  const authError = toAuthError(error);
  observe?.(authError, req);
  sendError(res, authError);
}

/** The `AuthError` a thrown value is answered as. */
export function toAuthError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  // Express's own layers (body-parser, the router decoding a %-escaped path parameter, a bad
  // Content-Encoding) throw errors with a 4xx `status`: those are the client's, not ours.
  const { status = undefined, statusCode = undefined } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  const clientStatus = status ?? statusCode;
  if (typeof clientStatus === 'number' && clientStatus >= 400 && clientStatus < 500) {
    return clientStatus === 413
      ? new PayloadTooLargeError()
      : new InvalidRequestError('The request is malformed: the body must be JSON, and the URL well encoded.');
  }
  return new InternalError(error);
}

/** Errors the app should see but the client must not: a throwing callback or hook. */
export function reportError(error: unknown, where: string): void {
  const detail = error instanceof Error ? error : new Error(String(error));
  process.emitWarning(`express-refresh-tokens: ${where}: ${detail.stack ?? detail.message}`, { code: 'ERT_CALLBACK_ERROR' });
}

/** Wraps an async handler so every rejection is answered (Express 4 does not catch them). */
export function handle(handler: (req: Request, res: Response) => Promise<void>, observe?: ErrorObserver): RequestHandler {
  return (req, res) => {
    handler(req, res).catch((error: unknown) => failRequest(req, res, error, observe));
  };
}

/** Router-level error middleware: body-parser failures and anything else thrown synchronously. */
export function errorMiddleware(observe?: ErrorObserver): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => failRequest(req, res, error, observe);
}

/**
 * The router's error answers for errors raised before it, such as malformed JSON caught by an
 * app-level `express.json()`: mount it after the router at the same path,
 * `app.use('/auth', authErrorHandler())` (README "Endpoints"), and nothing under it answers HTML.
 */
export function authErrorHandler(): ErrorRequestHandler {
  return errorMiddleware();
}
