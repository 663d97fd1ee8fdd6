import { ConfigurationError } from './errors.js';
import type { RefreshTokenStore } from './store/types.js';
import type { Duration } from './types.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
/** Ten years: longer lifetimes are mistakes, and would overflow dates and cookie ages. */
const MAX_DURATION_SECONDS = 10 * 365 * 86_400;

/** Parses a {@link Duration} into whole seconds; throws a `ConfigurationError` naming `option`. */
export function parseDuration(value: Duration, option: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value > 0 && value <= MAX_DURATION_SECONDS) return value;
  } else if (typeof value === 'string') {
    const match = /^\s*(\d{1,9})\s*([smhdw])?\s*$/.exec(value);
    const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] ?? 's']! : 0;
    if (seconds > 0 && seconds <= MAX_DURATION_SECONDS) return seconds;
  }
  throw new ConfigurationError(option, `must be a number of seconds from 1 to ten years, or a string such as '15m' or '14d' (got ${JSON.stringify(value)})`);
}

/** A whole number within bounds, or a `ConfigurationError` naming `option`. */
export function integerOption(value: unknown, fallback: number, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const chosen = value === undefined ? fallback : value;
  if (typeof chosen === 'number' && Number.isInteger(chosen) && chosen >= min && chosen <= max) return chosen;
  throw new ConfigurationError(option, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
}

export function clockOption(value: unknown, option: string): () => number {
  if (value === undefined) return Date.now;
  if (typeof value === 'function') return value as () => number;
  throw new ConfigurationError(option, 'must be a function returning milliseconds since the epoch');
}

const STORE_METHODS = ['createFamily', 'rotate', 'revokeFamily', 'revokeUser', 'listFamilies', 'denylistAccessToken', 'isAccessTokenRevoked'] as const;

/** A `RefreshTokenStore`, checked for every required method so a broken adapter fails at start-up. */
export function storeOption(value: unknown, option: string): RefreshTokenStore {
  if (!value || typeof value !== 'object') {
    throw new ConfigurationError(option, 'is required: a RefreshTokenStore such as new MemoryTokenStore() or new RedisTokenStore({ client })');
  }
  const missing = STORE_METHODS.filter((method) => typeof (value as Record<string, unknown>)[method] !== 'function');
  if (missing.length) throw new ConfigurationError(option, `is missing the RefreshTokenStore method(s) ${missing.join(', ')}`);
  return value as RefreshTokenStore;
}
