/*
 * The login throttle on PostgresTokenStore: the shared HTTP suite, counters shared by two app
 * instances on two pools, and what the counters table holds. (Outage: outage.test.ts, whose
 * logins during the outage now stop at the throttle's counters with 503.)
 */
import type { Pool } from 'pg';
import { PASSWORD } from '../helpers/app.js';
import { attempt, describeLoginThrottle, expectThrottled, fail, throttleApp } from '../suites/login-throttle.js';
import { migratedStore, randomTableName, sharedPool } from './clients.js';

let pool: Pool;
let other: Pool;
beforeAll(() => {
  pool = sharedPool();
  other = sharedPool();
});
afterAll(() => Promise.all([pool.end(), other.end()]));

describeLoginThrottle('PostgreSQL', () => migratedStore(pool));

describe('the login throttle on PostgreSQL', () => {
  it('shares the counters between app instances on two pools, and bounds parallel attempts across them', async () => {
    const tableName = randomTableName();
    const clock = { now: Date.now() };
    const a = await throttleApp({ store: await migratedStore(pool, tableName) }, clock);
    const b = await throttleApp({ store: await migratedStore(other, tableName) }, clock);
    await fail(a, 'alice', 2);
    await fail(b, 'alice', 2);
    expect((await attempt(b, 'alice', PASSWORD)).status).toBe(200);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i % 2 ? a : b, 'alice', 'wrong password')));
    expect(results.filter((res) => res.status === 401)).toHaveLength(5);
    for (const res of results.filter((res) => res.status !== 401)) expectThrottled(res, 900);
    expect(a.checks.count + b.checks.count).toBe(10);
  });

  it('leaves no row behind for a refused attempt: an IP over its limit cannot grow the table', async () => {
    const tableName = randomTableName();
    const t = await throttleApp({ store: await migratedStore(pool, tableName), loginThrottle: { perIp: { failures: 3, window: '1d' } } });
    for (let i = 0; i < 3; i++) await fail(t, `user${i}`, 1);
    const count = async () => Number((await pool.query(`SELECT count(*) AS n FROM ${tableName}_login_attempts`)).rows[0].n);
    const before = await count();
    for (let i = 0; i < 50; i++) expectThrottled(await attempt(t, `other${i}`, 'wrong password'), 24 * 3600);
    expect(await count()).toBe(before);
    expect(t.checks.count).toBe(3);
  });

  it('keeps hashes only, and deletes dead counters a few at a time as new attempts come', async () => {
    const tableName = randomTableName();
    const t = await throttleApp({ store: await migratedStore(pool, tableName) });
    for (let i = 0; i < 10; i++) await fail(t, `user${i}`, 1, `192.0.2.${i}`);
    const rows = async () => (await pool.query(`SELECT key, count, expires_at FROM ${tableName}_login_attempts`)).rows;
    expect(await rows()).toHaveLength(20);
    expect(JSON.stringify(await rows())).not.toMatch(/user\d|192\.0\.2/);
    t.clock.now += 2 * 24 * 60 * 60_000;
    await fail(t, 'alice', 1);
    expect(await rows()).toHaveLength(2 + 20 - 16);
  });
});
