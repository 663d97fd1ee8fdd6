import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { ResolvedLoginThrottle } from '../config/index.js';
import type { LoginAttempt, LoginAttemptResult, RefreshTokenStore } from '../store/types.js';
import { callStore } from './token-service.js';

/*
 * The login throttle (README "Password guessing"): the policy. The store only counts.
 *
 * Why the attempt is counted *before* the password is checked, and taken back only on success:
 * counting after a failure means reading the count, checking the password, then writing; N
 * parallel requests would all read "4 failures" and all reach the password check. Instead one
 * atomic store call both checks every limit and, when none is reached, counts this attempt as a
 * failure in advance (a reservation). N parallel attempts are serialised by the store: the first
 * `failures` of them get a slot, every later one sees the limit reached and is refused without a
 * password check. A success then clears the username+IP counter (a success ends a run of
 * failures) and takes its reservation back from the IP counter (which counts failures only).
 * An attempt that ends in neither (verifyCredentials throws, the client goes away) stays counted
 * as a failure: the safe side.
 *
 * The refusal comes before `verifyCredentials`, so it costs no bcrypt work and says nothing about
 * the username: a known and an unknown user are counted and refused alike.
 */

/** Which limit a refusal came from, as `onLoginThrottled` reports it. */
export type ThrottleLimit = 'perUsernameAndIp' | 'perIp';

/** A counted attempt, to settle with `succeeded` when the credentials were right. */
export interface CountedAttempt {
  group: string;
  usernameKey: string;
}

export type ThrottleDecision =
  { allowed: true; attempt: CountedAttempt } | { allowed: false; limit: ThrottleLimit; retryAfter: number; ip: string };

const IP_KEY = 'ip';

/** What `resetLoginAttempts` is given. */
type LoginReset = Parameters<NonNullable<RefreshTokenStore['resetLoginAttempts']>>[0];

/** Where the counters live: the store's own (shared by every instance), or this process's memory. */
interface Counters {
  hit(attempt: LoginAttempt): Promise<LoginAttemptResult>;
  reset(reset: LoginReset): Promise<void>;
}

/**
 * Counters in the memory of this process (the store's `MemoryLoginCounters`, which `createAuth`
 * hands in): synchronous, each method one atomic step.
 */
export interface ProcessCounters {
  hit(attempt: LoginAttempt): LoginAttemptResult;
  reset(reset: LoginReset): void;
  /** Drops every counter that has expired at `now`. */
  sweep(now: number): void;
}

/** How often the in-process fallback drops expired counters. */
const SWEEP_INTERVAL_MS = 60_000;

/** The throttle of `POST /login`: decides, and keeps its counters in the store when it can. */
export class LoginThrottle {
  private readonly counters: Counters;

  /** @param inProcess makes the counters of a store without `hitLoginAttempt`/`resetLoginAttempts` (with a warning). */
  constructor(
    private readonly config: ResolvedLoginThrottle,
    store: RefreshTokenStore,
    private readonly storeTimeoutMs: number,
    private readonly now: () => number,
    inProcess: () => ProcessCounters,
  ) {
    this.counters = storeCounters(store) ?? memoryCounters(inProcess());
  }

  /**
   * Checks both limits and counts the attempt, in one store call. Throws
   * `StoreUnavailableError` when the counters cannot be reached: `/login` fails closed.
   */
  async check(username: string, ip: string | undefined): Promise<ThrottleDecision> {
    const network = networkOf(ip, this.config.ipv6Prefix);
    const group = digest(network, 16);
    const usernameKey = `u:${digest(normalizeUsername(username), 22)}`;
    const { perUsernameAndIp, perIp } = this.config;
    const result = await callStore(this.storeTimeoutMs, () =>
      this.counters.hit({
        group,
        counters: [
          { key: usernameKey, limit: perUsernameAndIp.failures, windowMs: perUsernameAndIp.windowMs },
          { key: IP_KEY, limit: perIp.failures, windowMs: perIp.windowMs },
        ],
        now: this.now(),
      }),
    );
    if (result.allowed) return { allowed: true, attempt: { group, usernameKey } };
    return {
      allowed: false,
      limit: result.key === IP_KEY ? 'perIp' : 'perUsernameAndIp',
      // Whole seconds, rounded up so a client that waits exactly this long is let in; at least 1.
      retryAfter: Math.max(1, Math.ceil(result.retryAfterMs / 1000)),
      ip: network,
    };
  }

  /** The credentials were right: the run of failures ends, and the IP counter gets its reservation back. */
  async succeeded(attempt: CountedAttempt): Promise<void> {
    const reset = { group: attempt.group, clear: [attempt.usernameKey], decrement: [IP_KEY], now: this.now() };
    await callStore(this.storeTimeoutMs, () => this.counters.reset(reset));
  }
}

function storeCounters(store: RefreshTokenStore): Counters | undefined {
  const { hitLoginAttempt, resetLoginAttempts } = store;
  if (typeof hitLoginAttempt !== 'function' || typeof resetLoginAttempts !== 'function') return undefined;
  return { hit: (attempt) => hitLoginAttempt.call(store, attempt), reset: (reset) => resetLoginAttempts.call(store, reset) };
}

/**
 * A custom store without the throttle's methods still gets a throttle, in this process's memory:
 * weaker when several instances serve the app (each counts alone), so the app is told at start-up.
 */
function memoryCounters(counters: ProcessCounters): Counters {
  process.emitWarning(
    'express-refresh-tokens: the store has no hitLoginAttempt/resetLoginAttempts, so the login throttle counts in the memory of each process (README "Password guessing")',
    { code: 'ERT_LOGIN_THROTTLE_IN_MEMORY' },
  );
  let sweptAt = 0;
  return {
    async hit(attempt) {
      if (attempt.now - sweptAt >= SWEEP_INTERVAL_MS) {
        counters.sweep(attempt.now);
        sweptAt = attempt.now;
      }
      return counters.hit(attempt);
    },
    async reset(reset) {
      counters.reset(reset);
    },
  };
}

/** `Alice`, `ALICE`, ` alice` and `ａｌｉｃｅ` (fullwidth) are one username to the throttle. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}

/**
 * The network a client is counted as: an IPv4 address as it is (so is an IPv6 address that carries
 * one, see `embeddedIpv4`), an IPv6 address as its `/prefix` network, and anything else (no
 * `req.ip`, or not an address) as the one shared network `'unknown'`, so that sending garbage never
 * earns a fresh counter.
 */
export function networkOf(ip: string | undefined, ipv6Prefix: number): string {
  if (ip === undefined) return 'unknown';
  const address = ip.split('%')[0]!; // an IPv6 zone (fe80::1%eth0) names an interface, not a host
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6) return 'unknown';
  const groups = ipv6Groups(address);
  const ipv4 = embeddedIpv4(groups);
  if (ipv4 !== undefined) return ipv4;
  const masked = groups.map((group, index) => {
    const bits = Math.min(16, Math.max(0, ipv6Prefix - index * 16));
    return group & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `${compressIpv6(masked)}/${ipv6Prefix}`;
}

/**
 * The IPv4 address an IPv6 address stands for, where it stands for one: otherwise every IPv4
 * client behind a NAT64 gateway would share one /56 counter (and lock each other out), and one
 * IPv4 host would own 256 networks of 6to4. IPv4-mapped `::ffff:a.b.c.d`, SIIT `::ffff:0:a.b.c.d`,
 * IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` (RFC 6052), 6to4 `2002:AABB:CCDD::/48`
 * (RFC 3056), and Teredo `2001:0::/32`, whose client address is the last 32 bits inverted (RFC 4380).
 */
function embeddedIpv4(groups: number[]): string | undefined {
  const dotted = (high: number, low: number) => [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const zero = (...values: number[]) => values.every((value) => value === 0);
  if (zero(g0, g1, g2, g3) && ((g4 === 0 && g5 === 0xffff) || (g4 === 0xffff && g5 === 0))) return dotted(g6, g7);
  if (zero(g0, g1, g2, g3, g4, g5) && g6 !== 0) return dotted(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && zero(g2, g3, g4, g5)) return dotted(g6, g7);
  if (g0 === 0x2002) return dotted(g1, g2);
  if (g0 === 0x2001 && g1 === 0) return dotted(g6 ^ 0xffff, g7 ^ 0xffff);
  return undefined;
}

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted IPv4 part included). */
function ipv6Groups(address: string): number[] {
  const text = address.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_, a, b, c, d) => `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const [head, tail] = text.split('::') as [string, string | undefined];
  const part = (half: string) => (half === '' ? [] : half.split(':'));
  const before = part(head);
  const after = tail === undefined ? [] : part(tail);
  const zeros = tail === undefined ? [] : new Array<string>(8 - before.length - after.length).fill('0');
  return [...before, ...zeros, ...after].map((group) => parseInt(group, 16));
}

/** RFC 5952 text: lower-case hex, the longest run of two or more zero groups as `::`. */
function compressIpv6(groups: number[]): string {
  let start = -1;
  let length = 0;
  for (let i = 0; i < groups.length;) {
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > length && j - i >= 2) [start, length] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = groups.map((group) => group.toString(16));
  if (start < 0) return hex.join(':');
  return `${hex.slice(0, start).join(':')}::${hex.slice(start + length).join(':')}`;
}

/** A short, fixed-length name for a value that must not appear in clear in the store. */
function digest(value: string, length: number): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, length);
}
