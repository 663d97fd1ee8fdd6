import type { Request } from 'express';
import { ConfigurationError, CsrfRejectedError } from '../errors.js';

/** Normalises `trustedOrigins` at start-up to exact origin strings, as browsers send them. */
export function resolveTrustedOrigins(value: unknown): Set<string> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) throw new ConfigurationError('trustedOrigins', 'must be an array of origins such as https://app.example.com');
  return new Set(
    value.map((origin) => {
      try {
        const parsed = new URL(String(origin)).origin;
        if (parsed !== 'null') return parsed;
      } catch {
        // reported below
      }
      throw new ConfigurationError('trustedOrigins', `has an entry that is not an origin: ${JSON.stringify(origin)}`);
    }),
  );
}

/**
 * Refuses a browser request made from another site. A request with an `Origin` passes when that
 * origin is trusted, or is on the request's own host and the browser does not call it
 * cross-site. A request without `Origin` passes unless `Sec-Fetch-Site` says cross-site: clients
 * that are not browsers send neither header and are not refused.
 */
export function assertNotCrossSite(req: Request, trustedOrigins: Set<string>): void {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (origin === undefined) {
    if (site === 'cross-site') throw new CsrfRejectedError();
    return;
  }
  if (trustedOrigins.has(origin)) return;
  if (site !== 'cross-site' && hostOf(origin) === req.headers.host) return;
  throw new CsrfRejectedError();
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
