import { DEFAULTS } from '../config/defaults.js';
import { groupOption, integerOption } from '../config/values.js';
import { performance } from 'node:perf_hooks';
import { MemoryLoginCounters } from './login-counters.js';
import type {
  FindFamilyResult,
  LoginAttempt,
  LoginAttemptResult,
  NewFamily,
  RefreshTokenStore,
  RevocationEvent,
  RevocationFeed,
  RevocationListener,
  RotateRequest,
  RotateResult,
  SessionRecord,
} from './types.js';

/** The options of `new MemoryTokenStore(options)`: one process only (README "Stores"). */
export interface MemoryTokenStoreOptions {
  /** How often dead records are swept out, in ms. Default 60 000. */
  sweepIntervalMs?: number;
}

interface FamilyState extends NewFamily {
  previousHash?: string;
  rotatedAt?: number;
  sealedSuccessor?: string;
}

/**
 * The in-process store: for development, tests and single-process apps. Every method does its
 * reads and writes without an `await` in between, which is what makes it atomic in Node.
 * Records are swept by a timer that does not keep the process alive; `close()` stops it.
 */
export class MemoryTokenStore implements RefreshTokenStore {
  private readonly families = new Map<string, FamilyState>();
  private readonly familiesByUser = new Map<string, Set<string>>();
  /** jti -> expiry (ms). */
  private readonly denylist = new Map<string, number>();
  private readonly loginCounters = new MemoryLoginCounters();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly revocationListeners = new Set<RevocationListener>();

  constructor(options: MemoryTokenStoreOptions = {}) {
    const group = groupOption(options, 'MemoryTokenStore');
    const interval = integerOption(
      group.sweepIntervalMs,
      DEFAULTS.memoryStore.sweepIntervalMs,
      'MemoryTokenStore.sweepIntervalMs',
      1,
      2 ** 31 - 1,
    );
    this.sweeper = setInterval(() => this.sweep(Date.now()), interval);
    this.sweeper.unref();
  }

  async createFamily(family: NewFamily, limits: { maxSessionsPerUser: number; now: number }): Promise<{ evictedFamilyIds: string[] }> {
    this.families.set(family.familyId, { ...family });
    let index = this.familiesByUser.get(family.userId);
    if (!index) this.familiesByUser.set(family.userId, (index = new Set()));
    index.add(family.familyId);
    const live = this.liveFamilies(family.userId, limits.now);
    const evictedFamilyIds: string[] = [];
    for (const oldest of live) {
      if (evictedFamilyIds.length >= live.length - limits.maxSessionsPerUser) break;
      if (oldest.familyId === family.familyId) continue;
      this.delete(oldest);
      evictedFamilyIds.push(oldest.familyId);
    }
    this.revoked(evictedFamilyIds);
    return { evictedFamilyIds };
  }

  async rotate(request: RotateRequest): Promise<RotateResult> {
    const family = this.live(request.familyId, request.now);
    if (!family) return { outcome: 'invalid', reason: 'unknown' };
    if (family.proofHash !== request.proofHash) return { outcome: 'invalid', reason: 'wrong_proof' };

    if (request.presentedHash === family.tokenHash) {
      family.previousHash = family.tokenHash;
      family.tokenHash = request.successorHash;
      family.rotatedAt = request.now;
      family.sealedSuccessor = request.sealedSuccessor;
      family.lastUsedAt = request.now;
      family.expiresAt = Math.min(request.now + request.idleTtlMs, family.absoluteExpiresAt);
      return { outcome: 'rotated', session: toSession(family), userRecord: family.userRecord };
    }
    if (request.presentedHash === family.previousHash) {
      if (request.successorHash === family.tokenHash) {
        return { outcome: 'rotated', session: toSession(family), userRecord: family.userRecord };
      }
      if (
        request.graceMs > 0 &&
        family.sealedSuccessor !== undefined &&
        family.rotatedAt !== undefined &&
        request.now - family.rotatedAt <= request.graceMs
      ) {
        return { outcome: 'retried', session: toSession(family), userRecord: family.userRecord, sealedSuccessor: family.sealedSuccessor };
      }
    }
    this.delete(family);
    this.revoked([family.familyId]);
    return { outcome: 'reused', userId: family.userId };
  }

  async findFamily(familyId: string, conditions: { proofHash: string; now: number }): Promise<FindFamilyResult> {
    const family = this.live(familyId, conditions.now);
    if (!family) return { outcome: 'invalid', reason: 'unknown' };
    if (family.proofHash !== conditions.proofHash) return { outcome: 'invalid', reason: 'wrong_proof' };
    return { outcome: 'found', session: toSession(family), userRecord: family.userRecord };
  }

  async revokeFamily(
    familyId: string,
    conditions: { userId?: string; proofHash?: string; now: number },
  ): Promise<{ userId: string } | null> {
    const family = this.live(familyId, conditions.now);
    if (!family) return null;
    if (conditions.userId !== undefined && family.userId !== conditions.userId) return null;
    if (conditions.proofHash !== undefined && family.proofHash !== conditions.proofHash) return null;
    this.delete(family);
    this.revoked([family.familyId]);
    return { userId: family.userId };
  }

  async revokeUser(userId: string, now: number): Promise<string[]> {
    const revoked = this.liveFamilies(userId, now).map((family) => family.familyId);
    const all = [...(this.familiesByUser.get(userId) ?? [])];
    for (const familyId of all) this.families.delete(familyId);
    this.familiesByUser.delete(userId);
    this.revoked(all);
    return revoked;
  }

  async listFamilies(userId: string, now: number): Promise<SessionRecord[]> {
    return this.liveFamilies(userId, now).map(toSession);
  }

  async denylistAccessToken(entry: { familyId: string; jti: string; expiresAt: number; now: number }): Promise<void> {
    if (entry.expiresAt <= entry.now) return;
    this.denylist.set(entry.jti, entry.expiresAt);
    this.notify({ kind: 'token', jti: entry.jti, expiresAt: entry.expiresAt });
  }

  /**
   * Revocations reach the listeners synchronously, inside the method that makes them: in one
   * process the feed is always current, and nothing can be lost.
   */
  watchRevocations(listener: RevocationListener): RevocationFeed {
    this.revocationListeners.add(listener);
    return { state: () => ({ epoch: 1, currentAsOf: performance.now() }) };
  }

  async isAccessTokenRevoked(query: { familyId: string; jti: string; userId: string; now: number }): Promise<boolean> {
    const deniedUntil = this.denylist.get(query.jti);
    if (deniedUntil !== undefined && query.now < deniedUntil) return true;
    const family = this.live(query.familyId, query.now);
    return !family || family.userId !== query.userId;
  }

  async hitLoginAttempt(attempt: LoginAttempt): Promise<LoginAttemptResult> {
    return this.loginCounters.hit(attempt);
  }

  async resetLoginAttempts(reset: { group: string; clear: string[]; decrement: string[]; now: number }): Promise<void> {
    this.loginCounters.reset(reset);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.revocationListeners.clear();
  }

  /** Number of records held, for tests and memory measurements. */
  get size(): { families: number; users: number; denylist: number; loginCounters: number } {
    return {
      families: this.families.size,
      users: this.familiesByUser.size,
      denylist: this.denylist.size,
      loginCounters: this.loginCounters.size,
    };
  }

  /** Drops every record that is dead at `now`. Runs on a timer; exposed for tests and benchmarks. */
  sweep(now: number): void {
    for (const family of this.families.values()) if (now >= family.expiresAt) this.delete(family);
    for (const [jti, expiresAt] of this.denylist) if (now >= expiresAt) this.denylist.delete(jti);
    this.loginCounters.sweep(now);
  }

  private revoked(familyIds: string[]): void {
    if (familyIds.length > 0) this.notify({ kind: 'families', familyIds });
  }

  private notify(event: RevocationEvent): void {
    for (const listener of this.revocationListeners) listener(event);
  }

  private live(familyId: string, now: number): FamilyState | undefined {
    const family = this.families.get(familyId);
    return family && now < family.expiresAt ? family : undefined;
  }

  private liveFamilies(userId: string, now: number): FamilyState[] {
    const live: FamilyState[] = [];
    for (const familyId of this.familiesByUser.get(userId) ?? []) {
      const family = this.live(familyId, now);
      if (family) live.push(family);
    }
    return live.sort(oldestFirst);
  }

  private delete(family: FamilyState): void {
    this.families.delete(family.familyId);
    const index = this.familiesByUser.get(family.userId);
    index?.delete(family.familyId);
    if (index?.size === 0) this.familiesByUser.delete(family.userId);
  }
}

/** The order of the store contract (`createFamily`): by `createdAt`, ties by family id in byte order, as Redis sorts them. */
function oldestFirst(a: FamilyState, b: FamilyState): number {
  // Family ids are ASCII (base64url), so comparing UTF-16 code units is comparing bytes.
  return a.createdAt - b.createdAt || (a.familyId < b.familyId ? -1 : a.familyId > b.familyId ? 1 : 0);
}

function toSession(family: FamilyState): SessionRecord {
  const { familyId, userId, createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip } = family;
  return { familyId, userId, createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip };
}
