/*
 * Options are resolved here, once, at start-up: every option of `createAuth`, the router and
 * `requireAccessToken` is checked, given its default from the one table (defaults.ts) and turned
 * into the typed object the rest of the library reads. Any invalid option throws a
 * `ConfigurationError` naming it; nothing past this module checks an option again.
 */
import { ConfigurationError } from '../errors.js';
import type { RefreshTokenStore } from '../store/types.js';
import type { AuthHooks, AuthOptions, GuardOptions, RequireAccessTokenOptions, ResolveUser, VerifyCredentials } from '../types.js';

/** `getToken`: where a route finds its access token. */
export type TokenLocator = NonNullable<GuardOptions['getToken']>;
import { ACCESS_TOKEN_OPTION_NAMES, resolveAccessTokenOptions, type ResolvedAccessTokenOptions } from './access-token.js';
import { DEFAULTS } from './defaults.js';
import {
  booleanOption,
  choiceOption,
  clockOption,
  durationOption,
  functionOption,
  groupOption,
  integerOption,
  knownNames,
  originOf,
  stringListOption,
} from './values.js';

export { DEFAULTS } from './defaults.js';
export type { ResolvedAccessTokenOptions, ResolvedKeys } from './access-token.js';

/** The refresh cookie's attributes, resolved. */
export interface ResolvedCookie {
  name: string;
  sameSite: 'strict' | 'lax' | 'none';
  secure: boolean;
  domain?: string;
  /** Absent: the router's mount path (see http/transport.ts). */
  path?: string;
}

export interface ResolvedRefreshTokenOptions {
  idleTtlMs: number;
  absoluteTtlMs: number;
  /** `reuseGraceSeconds` in ms. */
  graceMs: number;
  maxSessionsPerUser: number;
  transport: 'cookie' | 'body';
  cookie: ResolvedCookie;
  resolveUser?: ResolveUser;
}

/** One limit of the login throttle: at most `failures` failed logins per `windowMs`. */
export interface ResolvedThrottleLimit {
  failures: number;
  windowMs: number;
}

/** `loginThrottle`, resolved (README "Password guessing"). */
export interface ResolvedLoginThrottle {
  perUsernameAndIp: ResolvedThrottleLimit;
  perIp: ResolvedThrottleLimit;
  /** IPv6 clients are counted by this network prefix, in bits. */
  ipv6Prefix: number;
}

/** Everything `createAuth` needs, checked, with every default applied. */
export interface ResolvedAuthOptions {
  accessToken: ResolvedAccessTokenOptions;
  store: RefreshTokenStore;
  /** Absent: the router has no `/login`. */
  verifyCredentials?: VerifyCredentials;
  refreshToken: ResolvedRefreshTokenOptions;
  /** Exact origins, as browsers send them. */
  trustedOrigins: ReadonlySet<string>;
  hooks: AuthHooks;
  /** `false`: `/login` counts nothing. */
  loginThrottle: ResolvedLoginThrottle | false;
  storeTimeoutMs: number;
  bodyLimitBytes: number;
  now: () => number;
}

/**
 * How a route checks access tokens. `revocation` is a mode rather than a flag so that other ways
 * of answering the check can join it.
 */
export interface ResolvedGuardOptions {
  roles?: string[];
  scopes?: string[];
  optional: boolean;
  /** `'cached'`: from the in-memory view, falling back to the store (README "Revocation checks from memory"). */
  revocation: 'none' | 'store' | 'cached';
  /** How old the view may be before the store is asked again (only read with `'cached'`). */
  maxStalenessMs: number;
  /** `maxAuthAge` in seconds. */
  maxAuthAgeSeconds?: number;
  errors: 'respond' | 'next';
  /** Absent: the Bearer header. */
  getToken?: TokenLocator;
}

/** The standalone `requireAccessToken(options)`: its own keys, store and clock, and the guard. */
export interface ResolvedStandaloneGuard {
  accessToken: ResolvedAccessTokenOptions;
  store?: RefreshTokenStore;
  storeTimeoutMs: number;
  now: () => number;
  guard: ResolvedGuardOptions;
}

const AUTH_OPTION_NAMES = [
  'accessToken',
  'store',
  'verifyCredentials',
  'refreshToken',
  'trustedOrigins',
  'hooks',
  'loginThrottle',
  'storeTimeoutMs',
  'bodyLimitBytes',
  'now',
] as const;
const LOGIN_THROTTLE_OPTION_NAMES = ['perUsernameAndIp', 'perIp', 'ipv6Prefix'] as const;
const THROTTLE_LIMIT_OPTION_NAMES = ['failures', 'window'] as const;
const REFRESH_TOKEN_OPTION_NAMES = [
  'idleTtl',
  'absoluteTtl',
  'reuseGraceSeconds',
  'maxSessionsPerUser',
  'transport',
  'cookie',
  'resolveUser',
] as const;
const COOKIE_OPTION_NAMES = ['name', 'sameSite', 'secure', 'domain', 'path'] as const;
const GUARD_OPTION_NAMES = ['roles', 'scopes', 'optional', 'revocation', 'maxStalenessMs', 'maxAuthAge', 'errors', 'getToken'] as const;
const VERIFY_OPTION_NAMES = ['revocation', 'maxStalenessMs'] as const;
const STANDALONE_OPTION_NAMES = [...ACCESS_TOKEN_OPTION_NAMES, ...GUARD_OPTION_NAMES, 'store', 'storeTimeoutMs', 'now'] as const;
const HOOK_NAMES = [
  'onLogin',
  'onLoginFailed',
  'onLoginThrottled',
  'onRefresh',
  'onReuseDetected',
  'onLogout',
  'onRevoke',
  'onError',
] as const;

export function resolveAuthOptions(options: AuthOptions): ResolvedAuthOptions {
  if (!options || typeof options !== 'object') throw new ConfigurationError('options', 'are required');
  knownNames(options as unknown as Record<string, unknown>, AUTH_OPTION_NAMES, '');
  if (options.accessToken && typeof options.accessToken === 'object') {
    knownNames(options.accessToken as unknown as Record<string, unknown>, ACCESS_TOKEN_OPTION_NAMES, 'accessToken.');
  }
  const store = storeOption(options.store, 'store');
  const refreshToken = resolveRefreshTokenOptions(options.refreshToken);
  if (refreshToken.resolveUser && typeof store.findFamily !== 'function') {
    throw new ConfigurationError(
      'refreshToken.resolveUser',
      'needs a store that implements findFamily (MemoryTokenStore, RedisTokenStore and PostgresTokenStore do)',
    );
  }
  const throttleMethods = [store.hitLoginAttempt, store.resetLoginAttempts].filter((method) => typeof method === 'function').length;
  if (throttleMethods === 1) {
    throw new ConfigurationError(
      'store',
      'implements only one of hitLoginAttempt and resetLoginAttempts: the login throttle needs both, or neither',
    );
  }
  return {
    accessToken: resolveAccessTokenOptions(options.accessToken, 'sign', 'accessToken'),
    store,
    verifyCredentials: functionOption<VerifyCredentials>(
      options.verifyCredentials,
      'verifyCredentials',
      'async (username, password, req) => user or null',
    ),
    refreshToken,
    trustedOrigins: resolveTrustedOrigins(options.trustedOrigins),
    hooks: resolveHooks(options.hooks),
    loginThrottle: resolveLoginThrottle(options.loginThrottle),
    storeTimeoutMs: storeTimeoutOption(options.storeTimeoutMs, 'storeTimeoutMs'),
    bodyLimitBytes: integerOption(options.bodyLimitBytes, DEFAULTS.bodyLimitBytes, 'bodyLimitBytes', 1024, 1024 * 1024),
    now: clockOption(options.now, 'now'),
  };
}

/**
 * The options of `auth.requireAccessToken(options)`. `name` prefixes option names in errors;
 * `store` is where revocation is checked, if anywhere.
 */
export function resolveGuardOptions(
  options: GuardOptions | undefined,
  name: string,
  store: RefreshTokenStore | undefined,
): ResolvedGuardOptions {
  const group = groupOption(options, name);
  knownNames(group, GUARD_OPTION_NAMES, `${name}.`);
  return guardOf(group, name, store);
}

/** The options of `auth.verifyAccessToken(token, options)`: the revocation part of a guard. */
export function resolveVerifyOptions(
  options: unknown,
  store: RefreshTokenStore,
): Pick<ResolvedGuardOptions, 'revocation' | 'maxStalenessMs'> {
  const name = 'verifyAccessToken';
  const group = groupOption(options, name);
  knownNames(group, VERIFY_OPTION_NAMES, `${name}.`);
  return revocationOf(group, name, store);
}

/** The options of the standalone `requireAccessToken(options)`: access-token options, a store, a guard. */
export function resolveStandaloneGuard(options: RequireAccessTokenOptions): ResolvedStandaloneGuard {
  const name = 'requireAccessToken';
  if (!options || typeof options !== 'object') throw new ConfigurationError(name, 'options are required');
  knownNames(options as unknown as Record<string, unknown>, STANDALONE_OPTION_NAMES, `${name}.`);
  const store = options.store === undefined ? undefined : storeOption(options.store, `${name}.store`);
  // Giving a store has always meant checking revocation with it.
  const group = { ...options, revocation: options.revocation ?? store !== undefined };
  return {
    accessToken: resolveAccessTokenOptions(options, 'verify', name),
    store,
    storeTimeoutMs: storeTimeoutOption(options.storeTimeoutMs, `${name}.storeTimeoutMs`),
    now: clockOption(options.now, `${name}.now`),
    guard: guardOf(group, name, store),
  };
}

function guardOf(group: Record<string, unknown>, name: string, store: RefreshTokenStore | undefined): ResolvedGuardOptions {
  return {
    roles: stringListOption(group.roles, `${name}.roles`),
    scopes: stringListOption(group.scopes, `${name}.scopes`),
    optional: booleanOption(group.optional, DEFAULTS.requireAccessToken.optional, `${name}.optional`),
    ...revocationOf(group, name, store),
    maxAuthAgeSeconds: group.maxAuthAge === undefined ? undefined : durationOption(group.maxAuthAge, 0, `${name}.maxAuthAge`),
    errors: choiceOption(group.errors, DEFAULTS.requireAccessToken.errors, ['respond', 'next'], `${name}.errors`),
    getToken: functionOption<TokenLocator>(group.getToken, `${name}.getToken`, '(req) => the access token, or undefined'),
  };
}

/**
 * `revocation` (`false`, `true` or `'cached'`) and `maxStalenessMs`. A store without
 * `watchRevocations` cannot serve `'cached'`: refused at start-up rather than quietly paying a
 * store call per request.
 */
function revocationOf(
  group: Record<string, unknown>,
  name: string,
  store: RefreshTokenStore | undefined,
): Pick<ResolvedGuardOptions, 'revocation' | 'maxStalenessMs'> {
  const defaults = DEFAULTS.requireAccessToken;
  const cached = group.revocation === 'cached';
  const revocation = cached || booleanOption(group.revocation, defaults.revocation, `${name}.revocation`);
  if (revocation && !store) throw new ConfigurationError(`${name}.revocation`, 'needs a store to check revocation against');
  if (cached && typeof store!.watchRevocations !== 'function') {
    throw new ConfigurationError(
      `${name}.revocation`,
      "'cached' needs a store that implements watchRevocations (MemoryTokenStore and RedisTokenStore do); use true to ask the store on each request",
    );
  }
  if (group.maxStalenessMs !== undefined && !cached)
    throw new ConfigurationError(`${name}.maxStalenessMs`, "only applies with revocation: 'cached'");
  return {
    revocation: cached ? 'cached' : revocation ? 'store' : 'none',
    maxStalenessMs: integerOption(group.maxStalenessMs, defaults.maxStalenessMs, `${name}.maxStalenessMs`, MIN_STALENESS_MS, 60_000),
  };
}

/** Below a few heartbeats (redis-revocations.ts) the view would be stale between two of them. */
const MIN_STALENESS_MS = 250;

function resolveRefreshTokenOptions(value: unknown): ResolvedRefreshTokenOptions {
  const defaults = DEFAULTS.refreshToken;
  const options = groupOption(value, 'refreshToken');
  knownNames(options, REFRESH_TOKEN_OPTION_NAMES, 'refreshToken.');
  const transport = choiceOption(options.transport, defaults.transport, ['cookie', 'body'], 'refreshToken.transport');
  return {
    idleTtlMs: durationOption(options.idleTtl, defaults.idleTtl, 'refreshToken.idleTtl') * 1000,
    absoluteTtlMs: durationOption(options.absoluteTtl, defaults.absoluteTtl, 'refreshToken.absoluteTtl') * 1000,
    graceMs:
      integerOption(options.reuseGraceSeconds, defaults.reuseGraceSeconds[transport], 'refreshToken.reuseGraceSeconds', 0, 3600) * 1000,
    maxSessionsPerUser: integerOption(
      options.maxSessionsPerUser,
      defaults.maxSessionsPerUser,
      'refreshToken.maxSessionsPerUser',
      1,
      100_000,
    ),
    transport,
    cookie: resolveCookie(options.cookie),
    resolveUser: functionOption<ResolveUser>(options.resolveUser, 'refreshToken.resolveUser', 'async (userId, session) => user or null'),
  };
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What RFC 6265 allows in a path attribute, less `;` and spaces, and less `<` as the `cookie` package refuses it. */
const COOKIE_PATH = /^\/[!-:=-~]*$/;

function resolveCookie(value: unknown): ResolvedCookie {
  const defaults = DEFAULTS.refreshToken.cookie;
  const options = groupOption(value, 'refreshToken.cookie');
  knownNames(options, COOKIE_OPTION_NAMES, 'refreshToken.cookie.');
  const name = options.name ?? defaults.name;
  if (typeof name !== 'string' || !COOKIE_NAME.test(name))
    throw new ConfigurationError('refreshToken.cookie.name', 'must be a valid cookie name');
  const sameSite = choiceOption(options.sameSite, defaults.sameSite, ['strict', 'lax', 'none'], 'refreshToken.cookie.sameSite');
  const secure = booleanOption(options.secure, defaults.secure, 'refreshToken.cookie.secure');
  if (sameSite === 'none' && !secure) {
    throw new ConfigurationError('refreshToken.cookie.sameSite', "'none' needs secure: true (browsers drop it otherwise)");
  }
  const { domain, path } = options;
  if (domain !== undefined && (typeof domain !== 'string' || domain === '')) {
    throw new ConfigurationError('refreshToken.cookie.domain', 'must be a non-empty string');
  }
  if (path !== undefined && (typeof path !== 'string' || !COOKIE_PATH.test(path))) {
    throw new ConfigurationError(
      'refreshToken.cookie.path',
      'must be a path starting with /, in printable ASCII without ";", "<" or spaces',
    );
  }
  assertPrefixRules(name, secure, domain, path);
  return { name, sameSite, secure, ...(domain === undefined ? {} : { domain }), ...(path === undefined ? {} : { path }) };
}

/**
 * Browsers silently drop a cookie whose name promises what its attributes do not (RFC 6265bis
 * 4.1.3, prefixes compared in any letter case): `__Secure-` needs `Secure`; `__Host-` needs
 * `Secure`, no `Domain` and `Path=/`.
 */
function assertPrefixRules(name: string, secure: boolean, domain: string | undefined, path: string | undefined): void {
  const prefix = /^__(Host|Secure)-/i.exec(name)?.[0];
  if (!prefix) return;
  const rule = `for a cookie named ${prefix}...`;
  if (!secure) throw new ConfigurationError('refreshToken.cookie.secure', `must be true ${rule}`);
  if (/^__Host-/i.test(prefix)) {
    if (domain !== undefined) throw new ConfigurationError('refreshToken.cookie.domain', `must not be set ${rule}`);
    if (path !== undefined && path !== '/') throw new ConfigurationError('refreshToken.cookie.path', `must be / ${rule}`);
  }
}

/** `trustedOrigins`, normalised to exact origin strings as browsers send them. */
function resolveTrustedOrigins(value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set(DEFAULTS.trustedOrigins);
  if (!Array.isArray(value)) throw new ConfigurationError('trustedOrigins', 'must be an array of origins such as https://app.example.com');
  return new Set(
    value.map((entry) => {
      const origin = originOf(entry);
      if (origin === undefined)
        throw new ConfigurationError('trustedOrigins', `has an entry that is not an origin: ${JSON.stringify(entry)}`);
      return origin;
    }),
  );
}

/** `loginThrottle`: `false` turns it off; `true`, absent or a partial object keeps the defaults for the rest. */
function resolveLoginThrottle(value: unknown): ResolvedLoginThrottle | false {
  if (value === false) return false;
  const defaults = DEFAULTS.loginThrottle;
  const options = groupOption(value === true ? undefined : value, 'loginThrottle');
  knownNames(options, LOGIN_THROTTLE_OPTION_NAMES, 'loginThrottle.');
  return {
    perUsernameAndIp: resolveThrottleLimit(options.perUsernameAndIp, defaults.perUsernameAndIp, 'loginThrottle.perUsernameAndIp'),
    perIp: resolveThrottleLimit(options.perIp, defaults.perIp, 'loginThrottle.perIp'),
    // /32 is the widest block a provider assigns; /128 counts every address on its own.
    ipv6Prefix: integerOption(options.ipv6Prefix, defaults.ipv6Prefix, 'loginThrottle.ipv6Prefix', 32, 128),
  };
}

function resolveThrottleLimit(value: unknown, defaults: { failures: number; window: string }, name: string): ResolvedThrottleLimit {
  const options = groupOption(value, name);
  knownNames(options, THROTTLE_LIMIT_OPTION_NAMES, `${name}.`);
  return {
    failures: integerOption(options.failures, defaults.failures, `${name}.failures`, 1, 1_000_000),
    windowMs: durationOption(options.window, defaults.window, `${name}.window`) * 1000,
  };
}

function resolveHooks(value: unknown): AuthHooks {
  const hooks = groupOption(value, 'hooks');
  for (const [name, hook] of Object.entries(hooks)) {
    if (!(HOOK_NAMES as readonly string[]).includes(name)) throw new ConfigurationError(`hooks.${name}`, 'is not a known hook');
    functionOption(hook, `hooks.${name}`, '(event) => void');
  }
  return { ...hooks } as AuthHooks;
}

function storeTimeoutOption(value: unknown, option: string): number {
  return integerOption(value, DEFAULTS.storeTimeoutMs, option, 1, 60_000);
}

const STORE_METHODS = [
  'createFamily',
  'rotate',
  'revokeFamily',
  'revokeUser',
  'listFamilies',
  'denylistAccessToken',
  'isAccessTokenRevoked',
] as const;

/** A `RefreshTokenStore`, checked for every required method so a broken adapter fails at start-up. */
function storeOption(value: unknown, option: string): RefreshTokenStore {
  if (!value || typeof value !== 'object') {
    throw new ConfigurationError(
      option,
      'is required: a RefreshTokenStore such as new MemoryTokenStore() or new RedisTokenStore({ client })',
    );
  }
  const missing = STORE_METHODS.filter((method) => typeof (value as Record<string, unknown>)[method] !== 'function');
  if (missing.length) throw new ConfigurationError(option, `is missing the RefreshTokenStore method(s) ${missing.join(', ')}`);
  return value as RefreshTokenStore;
}
