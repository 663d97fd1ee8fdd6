import { performance } from 'node:perf_hooks';
import type { RefreshTokenStore, RevocationEvent, RevocationFeed } from '../store/types.js';
import { MAX_CLOCK_TOLERANCE_SECONDS, type AccessClaims } from './access-token.js';

/**
 * How much later than the start of an epoch a token's `iat` must be for the view to vouch for it
 * alone, at the least: more than the clock tolerance, so that an issuer whose clock runs ahead of
 * ours by more than the tolerance still cannot date a token of before the epoch (whose revocation
 * may have been lost) into it. Tokens of the first minute of an epoch cost one store call each.
 */
const MIN_EPOCH_MARGIN_MS = 60_000;

/**
 * Entries the view holds at most. Revocations are made by users too (every logout with a Bearer
 * token denylists it), so their number is the attackers' to choose: beyond this the view forgets
 * everything and starts a new epoch, after which tokens issued before it go to the store again.
 */
export const MAX_VIEW_ENTRIES = 100_000;

/** What the view can say of a token without the store. */
export type ViewAnswer = 'revoked' | 'live' | 'unknown';

/**
 * The in-memory view behind `revocation: 'cached'` (README "Revocation checks from memory"): what
 * the store's notifications said was revoked, answered synchronously.
 *
 * The view answers `live` only when it can prove it:
 * - the feed is subscribed and current as of less than `maxStalenessMs` ago (the store's heartbeat
 *   proves it: see redis-revocations.ts), and
 * - the token was issued after the feed's current epoch began (plus a margin larger than the
 *   clock tolerance, for issuers whose clocks run ahead): any revocation of it happened later still, so it was
 *   delivered; or the store itself said the token was live during this epoch (every revocation
 *   after that answer was delivered).
 * Anything else is `unknown`: the caller asks the store, which answers or fails with 503. A token
 * the view knows revoked is `revoked` whatever the feed's state: revocation is final.
 *
 * Memory: an entry stays until every token it concerns has expired. A revoked family, for one
 * token lifetime plus twice the clock tolerance from when the view heard of it (no token of the
 * family is issued after its revocation); a denylisted `jti` and a store answer, until the
 * token's `exp` plus the tolerance. So the view holds what was revoked during one token lifetime,
 * and the store answers for the tokens issued before the epoch, which all expire within one.
 * Users make revocations too (a logout denylists its token), so the view also holds at most
 * `MAX_VIEW_ENTRIES`, forgetting all and starting a new epoch beyond it.
 */
export class RevocationView {
  private readonly feed: RevocationFeed;
  /** familyId -> when to forget it (ms, the app's clock). Insertion order is roughly expiry order. */
  private readonly families = new Map<string, number>();
  /** jti -> until when it is refused (ms). */
  private readonly tokens = new Map<string, number>();
  /** jti -> until when: the store said live during the current epoch. */
  private readonly cleared = new Map<string, number>();
  private epoch: number | undefined;
  private epochStartedAt = Infinity;
  private readonly familyKeepMs: number;
  private readonly toleranceMs: number;
  private readonly epochMarginMs: number;
  /** The latest a legitimate denylist entry can last: a later `expiresAt` in a message is capped. */
  private readonly tokenKeepMs: number;

  constructor(
    store: RefreshTokenStore,
    timing: { lifetimeSeconds: number; toleranceSeconds: number },
    private readonly now: () => number,
  ) {
    if (typeof store.watchRevocations !== 'function') throw new Error('RevocationView: the store does not implement watchRevocations');
    this.toleranceMs = timing.toleranceSeconds * 1000;
    this.familyKeepMs = timing.lifetimeSeconds * 1000 + 2 * this.toleranceMs;
    this.epochMarginMs = Math.max(this.toleranceMs, MIN_EPOCH_MARGIN_MS);
    this.tokenKeepMs = timing.lifetimeSeconds * 1000 + 2 * MAX_CLOCK_TOLERANCE_SECONDS * 1000;
    this.feed = store.watchRevocations((event) => this.learn(event));
  }

  check(claims: AccessClaims, maxStalenessMs: number): ViewAnswer {
    const nowMs = this.now();
    if (this.isKnownRevoked(claims, nowMs)) return 'revoked';
    if (this.currentEpoch(maxStalenessMs, nowMs) === undefined) return 'unknown';
    if (claims.iat * 1000 >= this.epochStartedAt + this.epochMarginMs) return 'live';
    const until = this.cleared.get(claims.jti);
    return until !== undefined && nowMs < until ? 'live' : 'unknown';
  }

  /**
   * The epoch the view can vouch for now, or undefined. Ask it before a store call and give it to
   * {@link record} with the answer: only an answer given inside a current epoch is kept.
   */
  currentEpoch(maxStalenessMs: number, nowMs = this.now()): number | undefined {
    const state = this.feed.state();
    if (!state || performance.now() - state.currentAsOf > maxStalenessMs) return undefined;
    if (state.epoch !== this.epoch) {
      // Notifications may have been lost since the last epoch: what the store said then is void.
      this.epoch = state.epoch;
      this.epochStartedAt = nowMs;
      this.cleared.clear();
    }
    return state.epoch;
  }

  /** The store's answer for a token the view could not vouch for, asked during `epoch`. */
  record(claims: AccessClaims, revoked: boolean, epoch: number | undefined): void {
    const until = claims.exp * 1000 + this.toleranceMs;
    const nowMs = this.now();
    if (revoked) {
      this.tokens.set(claims.jti, until);
      forgetExpired(this.tokens, nowMs);
    } else if (epoch !== undefined && epoch === this.epoch && this.feed.state()?.epoch === epoch) {
      this.cleared.set(claims.jti, until);
      forgetExpired(this.cleared, nowMs);
    }
  }

  /** Entries held, for tests and memory measurements. */
  get size(): { families: number; tokens: number; cleared: number } {
    return { families: this.families.size, tokens: this.tokens.size, cleared: this.cleared.size };
  }

  private isKnownRevoked(claims: AccessClaims, nowMs: number): boolean {
    const family = this.families.get(claims.sid);
    if (family !== undefined && nowMs < family) return true;
    const token = this.tokens.get(claims.jti);
    return token !== undefined && nowMs < token;
  }

  private learn(event: RevocationEvent): void {
    const nowMs = this.now();
    if (event.kind === 'families') {
      for (const familyId of event.familyIds) this.families.set(familyId, nowMs + this.familyKeepMs);
      forgetExpired(this.families, nowMs);
    } else {
      // Capped: a message saying "for ever" (anyone who can PUBLISH on the channel can send one)
      // would otherwise hold its entry, and stop `forgetExpired` at it.
      this.tokens.set(event.jti, Math.min(event.expiresAt, nowMs + this.tokenKeepMs));
      forgetExpired(this.tokens, nowMs);
    }
    if (this.families.size + this.tokens.size > MAX_VIEW_ENTRIES) this.forgetAll(nowMs);
  }

  /**
   * Forgets every entry and starts a new epoch now: what the view forgot concerns tokens issued
   * before now, and those go to the store from here on, as after a lost connection.
   */
  private forgetAll(nowMs: number): void {
    this.families.clear();
    this.tokens.clear();
    this.cleared.clear();
    this.epochStartedAt = nowMs;
  }
}

/**
 * Drops expired entries from the front (the oldest inserted). Entries are inserted in about the
 * order they expire, so this keeps each map within one token lifetime of what is live, at a cost
 * proportional to what it drops.
 */
function forgetExpired(entries: Map<string, number>, nowMs: number): void {
  for (const [key, until] of entries) {
    if (until > nowMs) return;
    entries.delete(key);
  }
}
