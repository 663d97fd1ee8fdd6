import type { ResolvedAccessTokenOptions } from '../config/access-token.js';
import type { ResolvedJwksSource } from '../config/verifier.js';
import { InvalidTokenError, StoreUnavailableError } from '../errors.js';
import { AccessTokens, isCompactJws, type AccessClaims } from './access-token.js';
import { keysOfJwks } from './jwks.js';

const UNAVAILABLE = 'The signing keys could not be fetched; try again shortly.';

/** With no keys at all, at most one fetch per this long: a JWKS host that is down is not hammered by every request. */
const RETRY_WITHOUT_KEYS_MS = 1000;

/**
 * The keys of a remote JWKS, for `createAccessTokenVerifier`. Tokens are verified by an
 * `AccessTokens` built from the last set fetched, so by exactly the rules of the signer's own
 * middleware. The set is fetched when there is none yet; again, at most once per cooldown, when
 * a token names a `kid` it lacks (the signer published a new key); and in the background once it
 * is older than its maximum age, so a key the signer retired stops verifying here within that
 * age. A failed fetch keeps the set there was, for a while: while the JWKS host is down, tokens of
 * known keys still pass, until the set is older than `maxStale`; then it is dropped, since it can
 * no longer tell a retired key from a live one. With no set, verification fails with 503
 * `store_unavailable`, and fetches at most once a second.
 */
export class RemoteKeySet {
  private tokens?: AccessTokens;
  private fetchedAt = 0;
  /** When the last fetch started, successful or not: the cooldown counts from it. */
  private attemptedAt = -Infinity;
  /** The fetch under way, shared by every request that waits for it. */
  private pending?: Promise<void>;

  constructor(
    private readonly source: ResolvedJwksSource,
    private readonly claims: Omit<ResolvedAccessTokenOptions, 'keys'>,
    private readonly now: () => number,
  ) {}

  /** Synchronous while the cached set has the token's key; a promise when keys must be fetched first. */
  verify(token: string): AccessClaims | Promise<AccessClaims> {
    const now = this.now();
    if (this.tokens !== undefined && now - this.fetchedAt > this.source.maxStaleMs) this.tokens = undefined;
    const tokens = this.tokens;
    if (tokens === undefined) return this.verifyWithoutKeys(token, now);
    if (now - this.fetchedAt >= this.source.cacheMaxAgeMs && !this.coolingDown(now)) this.reload().catch(() => undefined);
    try {
      return tokens.verify(token, now);
    } catch (error) {
      if (!(error instanceof InvalidTokenError && error.reason === 'unknown_key') || this.coolingDown(now)) throw error;
    }
    // A kid we lack: the signer may have published a key since. A failed fetch leaves the set as
    // it was, and the token is refused as naming no key.
    return this.reload()
      .catch(() => undefined)
      .then(() => this.tokens!.verify(token, this.now()));
  }

  /** No usable set: fetch one, unless a fetch just failed; a token that is no JWS costs no fetch. */
  private verifyWithoutKeys(token: string, now: number): Promise<AccessClaims> {
    if (!isCompactJws(token)) return Promise.reject(new InvalidTokenError('malformed'));
    if (this.pending === undefined && now - this.attemptedAt < RETRY_WITHOUT_KEYS_MS) {
      return Promise.reject(new StoreUnavailableError(undefined, UNAVAILABLE));
    }
    return this.reload().then(() => this.tokens!.verify(token, this.now()));
  }

  private coolingDown(now: number): boolean {
    return now - this.attemptedAt < this.source.cooldownMs;
  }

  private reload(): Promise<void> {
    this.pending ??= this.fetchKeys().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchKeys(): Promise<void> {
    this.attemptedAt = this.now();
    let document: unknown;
    try {
      document = await fetchJson(this.source.uri, this.source.timeoutMs, this.source.maxBytes);
    } catch (error) {
      throw new StoreUnavailableError(error, UNAVAILABLE);
    }
    let verifiers;
    try {
      verifiers = keysOfJwks(document, this.source.algorithms);
    } catch (error) {
      throw new StoreUnavailableError(error, UNAVAILABLE);
    }
    // A new AccessTokens, so nothing verified with the old set (its cache) outlives it.
    this.tokens = new AccessTokens({ ...this.claims, keys: { verifiers, byKid: true } }, { cacheVerified: true });
    this.fetchedAt = this.now();
  }
}

/**
 * GETs a JSON document within a deadline and a size: a 200 answer only (no redirect followed),
 * its body read in chunks and dropped as soon as it is too large, whatever its Content-Length says.
 */
async function fetchJson(url: URL, timeoutMs: number, maxBytes: number): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
  const body = response.body;
  if (response.status !== 200 || body === null) {
    await body?.cancel();
    throw new Error(`the JWKS URL answered ${response.status}`);
  }
  if (Number(response.headers.get('content-length')) > maxBytes) {
    await body.cancel();
    throw new Error(`the JWKS is larger than ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`the JWKS is larger than ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
