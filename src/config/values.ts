import { ConfigurationError } from '../errors.js';
import { isObject } from '../json.js';
import type { Duration } from '../types.js';

/*
 * The checks every option goes through, each failure a `ConfigurationError` naming the option.
 * `undefined` always means "not given": the caller's default (from defaults.ts) applies.
 */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
/** Ten years: longer lifetimes are mistakes, and would overflow dates and cookie ages. */
const MAX_DURATION_SECONDS = 10 * 365 * 86_400;

/** Parses a {@link Duration} into whole seconds. */
export function durationOption(value: unknown, fallback: Duration, option: string): number {
  const chosen = value === undefined ? fallback : value;
  if (typeof chosen === 'number') {
    if (Number.isInteger(chosen) && chosen > 0 && chosen <= MAX_DURATION_SECONDS) return chosen;
  } else if (typeof chosen === 'string') {
    const match = /^\s*(\d{1,9})\s*([smhdw])?\s*$/.exec(chosen);
    const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] ?? 's']! : 0;
    if (seconds > 0 && seconds <= MAX_DURATION_SECONDS) return seconds;
  }
  throw new ConfigurationError(
    option,
    `must be a number of seconds from 1 to ten years, or a string such as '15m' or '14d' (got ${describe(value)})`,
  );
}

/** A whole number within bounds. */
export function integerOption(value: unknown, fallback: number, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const chosen = value === undefined ? fallback : value;
  if (typeof chosen === 'number' && Number.isInteger(chosen) && chosen >= min && chosen <= max) return chosen;
  throw new ConfigurationError(option, `must be a whole number from ${min} to ${max} (got ${describe(value)})`);
}

export function booleanOption(value: unknown, fallback: boolean, option: string): boolean {
  const chosen = value === undefined ? fallback : value;
  if (typeof chosen === 'boolean') return chosen;
  throw new ConfigurationError(option, `must be true or false (got ${describe(value)})`);
}

/** One of a few allowed values, compared exactly. */
export function choiceOption<T extends string | boolean>(value: unknown, fallback: T, allowed: readonly T[], option: string): T {
  const chosen = value === undefined ? fallback : value;
  if (allowed.includes(chosen as T)) return chosen as T;
  throw new ConfigurationError(
    option,
    `must be ${allowed.map((choice) => JSON.stringify(choice).replace(/"/g, "'")).join(' or ')} (got ${describe(value)})`,
  );
}

/** An optional function; `shape` says what it should look like, for the message. */
export function functionOption<T>(value: unknown, option: string, shape: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value as T;
  throw new ConfigurationError(option, `must be a function: ${shape}`);
}

/** The clock, in ms since the epoch. */
export function clockOption(value: unknown, option: string): () => number {
  return functionOption<() => number>(value, option, '() => milliseconds since the epoch') ?? Date.now;
}

export function optionalString(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length > 0) return value;
  throw new ConfigurationError(option, `must be a non-empty string (got ${describe(value)})`);
}

/**
 * An origin as browsers send it in `Origin` (`https://app.example.com`, no path, default port
 * left out), from any URL of it; undefined for what has no origin (not a URL, or an opaque one),
 * and for a host with `*`, which URL parsing accepts but no browser sends: a wildcard is not
 * supported, and must not look as if it were.
 */
export function originOf(value: unknown): string | undefined {
  try {
    const origin = new URL(String(value)).origin;
    return origin === 'null' || origin.includes('*') ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** An optional non-empty list of strings (an empty one would pass everyone or no one). */
export function stringListOption(value: unknown, option: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item.length > 0)) return [...value];
  throw new ConfigurationError(option, 'must be a non-empty array of non-empty strings');
}

/** An optional group of options: a plain object, or `{}` when not given. */
export function groupOption(value: unknown, option: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (isObject(value)) return value;
  throw new ConfigurationError(option, 'must be an object');
}

/** Refuses names a group does not know: a misspelt option would otherwise be ignored in silence. */
export function knownNames(group: Record<string, unknown>, names: readonly string[], prefix: string): void {
  for (const name of Object.keys(group)) {
    if (!names.includes(name)) throw new ConfigurationError(`${prefix}${name}`, 'is not an option here');
  }
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
