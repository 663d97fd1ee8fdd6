import type { LoginAttempt, LoginAttemptResult } from './types.js';

interface Counter {
  count: number;
  expiresAt: number;
}

/**
 * The login throttle's counters in the memory of one process: what `MemoryTokenStore` keeps, and
 * what the throttle falls back to for a store without `hitLoginAttempt`. Each method reads and
 * writes with no `await` in between, which is what makes it one atomic step in Node.
 *
 * Memory stays bounded: an attempt refused for a limit writes nothing, so one network adds at
 * most its per-IP limit of keys per window, and `sweep` drops what has expired.
 */
export class MemoryLoginCounters {
  private readonly counters = new Map<string, Counter>();

  /** The contract of `RefreshTokenStore.hitLoginAttempt`. */
  hit(attempt: LoginAttempt): LoginAttemptResult {
    const { now } = attempt;
    let retryAfterMs = 0;
    let limiting: string | undefined;
    for (const { key, limit } of attempt.counters) {
      const counter = this.live(attempt.group, key, now);
      if (counter && counter.count >= limit && counter.expiresAt - now > retryAfterMs) {
        retryAfterMs = counter.expiresAt - now;
        limiting = key;
      }
    }
    if (limiting !== undefined) return { allowed: false, retryAfterMs, key: limiting };
    for (const { key, windowMs } of attempt.counters) {
      const counter = this.live(attempt.group, key, now);
      if (counter) counter.count += 1;
      else this.counters.set(`${attempt.group}/${key}`, { count: 1, expiresAt: now + windowMs });
    }
    return { allowed: true };
  }

  /** The contract of `RefreshTokenStore.resetLoginAttempts`. */
  reset(reset: { group: string; clear: string[]; decrement: string[]; now: number }): void {
    for (const key of reset.clear) this.counters.delete(`${reset.group}/${key}`);
    for (const key of reset.decrement) {
      const counter = this.live(reset.group, key, reset.now);
      if (counter) counter.count = Math.max(0, counter.count - 1);
    }
  }

  /** Drops every counter that has expired at `now`. */
  sweep(now: number): void {
    for (const [key, counter] of this.counters) if (now >= counter.expiresAt) this.counters.delete(key);
  }

  get size(): number {
    return this.counters.size;
  }

  private live(group: string, key: string, now: number): Counter | undefined {
    const counter = this.counters.get(`${group}/${key}`);
    return counter && now < counter.expiresAt ? counter : undefined;
  }
}
