import { ConfigurationError } from '../errors.js';
import type { AccessTokenVerifierOptions } from '../types.js';
import { ASYMMETRIC, resolveAccessTokenOptions, resolveClaimOptions, SYMMETRIC, type ResolvedAccessTokenOptions } from './access-token.js';
import { DEFAULTS } from './defaults.js';
import { clockOption, durationOption, integerOption, knownNames } from './values.js';

const NAME = 'createAccessTokenVerifier';
const VERIFIER_OPTION_NAMES = [
  'jwksUri',
  'keys',
  'algorithms',
  'issuer',
  'audience',
  'expiresIn',
  'clockToleranceSeconds',
  'jwksTimeoutMs',
  'jwksMaxBytes',
  'jwksCooldown',
  'jwksCacheMaxAge',
  'jwksMaxStale',
  'now',
] as const;
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** Where a JWKS comes from and how it is fetched. */
export interface ResolvedJwksSource {
  uri: URL;
  /** The algorithms a key of the set may be pinned to. */
  algorithms: readonly string[];
  timeoutMs: number;
  maxBytes: number;
  cooldownMs: number;
  cacheMaxAgeMs: number;
  /** A set this old is dropped, whether or not a fetch could renew it. */
  maxStaleMs: number;
}

/** The options of `createAccessTokenVerifier`, checked: local keys, or a JWKS to fetch them from. */
export type ResolvedVerifierOptions = { now: () => number } & (
  | { source: 'keys'; accessToken: ResolvedAccessTokenOptions }
  | { source: 'jwks'; claims: Omit<ResolvedAccessTokenOptions, 'keys'>; jwks: ResolvedJwksSource }
);

export function resolveVerifierOptions(options: AccessTokenVerifierOptions): ResolvedVerifierOptions {
  if (!options || typeof options !== 'object') throw new ConfigurationError(NAME, 'options are required: { jwksUri } or { keys }');
  knownNames(options as unknown as Record<string, unknown>, VERIFIER_OPTION_NAMES, `${NAME}.`);
  const { jwksUri, keys } = options;
  if ((jwksUri === undefined) === (keys === undefined)) throw new ConfigurationError(`${NAME}.jwksUri`, 'or keys is required, not both');
  const now = clockOption(options.now, `${NAME}.now`);
  if (keys !== undefined) {
    const accessToken = resolveAccessTokenOptions({ ...options, keys } as never, 'verify', NAME);
    const algorithms = algorithmsOption(options.algorithms, [...SYMMETRIC, ...ASYMMETRIC]);
    accessToken.keys.verifiers.forEach((key, index) => {
      if (!algorithms.includes(key.algorithm))
        throw new ConfigurationError(`${NAME}.keys[${index}].algorithm`, `is not one of algorithms (${algorithms.join(', ')})`);
    });
    return { now, source: 'keys', accessToken };
  }
  const defaults = DEFAULTS.accessTokenVerifier;
  const resolved: ResolvedVerifierOptions & { source: 'jwks' } = {
    now,
    source: 'jwks',
    claims: resolveClaimOptions(options, NAME),
    jwks: {
      uri: jwksUriOption(jwksUri),
      // A key from the network verifies; it never signs: no HMAC here.
      algorithms: algorithmsOption(options.algorithms, ASYMMETRIC),
      timeoutMs: integerOption(options.jwksTimeoutMs, defaults.jwksTimeoutMs, `${NAME}.jwksTimeoutMs`, 1, 60_000),
      maxBytes: integerOption(options.jwksMaxBytes, defaults.jwksMaxBytes, `${NAME}.jwksMaxBytes`, 1024, 16 * 1024 * 1024),
      cooldownMs: durationOption(options.jwksCooldown, defaults.jwksCooldown, `${NAME}.jwksCooldown`) * 1000,
      cacheMaxAgeMs: durationOption(options.jwksCacheMaxAge, defaults.jwksCacheMaxAge, `${NAME}.jwksCacheMaxAge`) * 1000,
      maxStaleMs: durationOption(options.jwksMaxStale, defaults.jwksMaxStale, `${NAME}.jwksMaxStale`) * 1000,
    },
  };
  if (resolved.jwks.maxStaleMs < resolved.jwks.cacheMaxAgeMs) {
    throw new ConfigurationError(`${NAME}.jwksMaxStale`, 'must not be shorter than jwksCacheMaxAge');
  }
  return resolved;
}

/** `algorithms`: a non-empty list of the algorithms allowed here; default all of them. */
function algorithmsOption(value: unknown, allowed: readonly string[]): readonly string[] {
  if (value === undefined) return allowed;
  if (Array.isArray(value) && value.length > 0 && value.every((name) => typeof name === 'string' && allowed.includes(name)))
    return [...value];
  throw new ConfigurationError(`${NAME}.algorithms`, `must be a non-empty array of ${allowed.join(', ')}`);
}

/** An https URL; plain http only to this machine (tests, a sidecar). */
function jwksUriOption(value: unknown): URL {
  let url: URL | undefined;
  try {
    url = new URL(String(value));
  } catch {
    // reported below
  }
  if (typeof value !== 'string' && !(value instanceof URL)) url = undefined;
  if (url && (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.includes(url.hostname)))) return url;
  throw new ConfigurationError(`${NAME}.jwksUri`, `must be an https URL (http only to localhost) (got ${JSON.stringify(String(value))})`);
}
