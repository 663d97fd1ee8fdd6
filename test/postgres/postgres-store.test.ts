/*
 * What PostgresTokenStore promises beyond the conformance suite: its options, the schema and
 * migrate(), the exact session cap under parallel logins, bounded clean-up of dead rows, retried
 * serialization failures, and an index behind every statement it runs.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { ConfigurationError, shardKeyOf, type NewFamily } from '../../src/index.js';
import { PostgresTokenStore, postgresSchema, type PostgresQueryable } from '../../src/postgres/index.js';
import { CLEANUP_BATCH } from '../../src/store/postgres-sql.js';
import { migratedStore, randomTableName, sharedPool, sharedPort } from './clients.js';
import { waitUntil } from '../redis/servers.js';
import { connection } from './server.js';

const DAY = 24 * 3600 * 1000;
const random = (bytes = 32) => randomBytes(bytes).toString('base64url');

function newFamily(now: number, overrides: Partial<NewFamily> = {}): NewFamily {
  const userId = overrides.userId ?? `user-${random(6)}`;
  return {
    familyId: shardKeyOf(userId) + random(16),
    userId,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 14 * DAY,
    absoluteExpiresAt: now + 90 * DAY,
    tokenHash: random(),
    proofHash: random(),
    userRecord: JSON.stringify({ id: userId }),
    ...overrides,
  };
}

let pool: Pool;
beforeAll(() => {
  pool = sharedPool();
});
afterAll(() => pool.end());

async function count(table: string): Promise<number> {
  return Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
}

describe('options', () => {
  it.each<[unknown, string]>([
    ['users; DROP TABLE users', 'SQL'],
    ['Sessions', 'upper case (PostgreSQL would fold it)'],
    ['"sessions"', 'quotes'],
    ['a.b.c', 'three parts'],
    ['1sessions', 'a leading digit'],
    ['', 'empty'],
    ['x'.repeat(41), 'longer than 40 characters'],
    [42, 'not a string'],
  ])('refuses tableName %j (%s) with ConfigurationError at start-up', (tableName) => {
    expect(() => new PostgresTokenStore({ pool, tableName: tableName as string })).toThrow(ConfigurationError);
    expect(() => new PostgresTokenStore({ pool, tableName: tableName as string })).toThrow(/tableName must be/);
  });

  it('accepts table and schema.table names', () => {
    expect(() => new PostgresTokenStore({ pool, tableName: 'sessions' })).not.toThrow();
    expect(() => new PostgresTokenStore({ pool, tableName: 'auth.refresh_families_2' })).not.toThrow();
  });

  it('refuses a pool without query()', () => {
    expect(() => new PostgresTokenStore({ pool: {} as PostgresQueryable })).toThrow(ConfigurationError);
    expect(() => new PostgresTokenStore(undefined as never)).toThrow(ConfigurationError);
  });
});

describe('the schema and migrate()', () => {
  it('ships in the README exactly as postgresSchema() returns it', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### `PostgresTokenStore`'));
    const sql = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
    expect(sql).toBe(postgresSchema());
  });

  it('runs on an empty database as plain SQL, the way a migration tool would run it', async () => {
    await pool.query('CREATE SCHEMA IF NOT EXISTS ert_plain_sql');
    const tableName = `ert_plain_sql.${randomTableName()}`;
    await pool.query(postgresSchema(tableName));
    await pool.query(postgresSchema(tableName)); // idempotent
    const store = new PostgresTokenStore({ pool, tableName });
    const family = newFamily(Date.now());
    await store.createFamily(family, { maxSessionsPerUser: 5, now: family.createdAt });
    expect((await store.listFamilies(family.userId, family.createdAt)).map((s) => s.familyId)).toEqual([family.familyId]);
  });

  it('is idempotent, and safe from many instances at once', async () => {
    const tableName = randomTableName();
    const stores = Array.from({ length: 6 }, () => new PostgresTokenStore({ pool, tableName }));
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate();
    const family = newFamily(Date.now());
    await stores[1]!.createFamily(family, { maxSessionsPerUser: 5, now: family.createdAt });
    expect(
      await stores[2]!.isAccessTokenRevoked({ familyId: family.familyId, jti: 'j', userId: family.userId, now: family.createdAt }),
    ).toBe(false);
  });

  it('rejects (the token service then answers 503) when the schema is missing', async () => {
    const store = new PostgresTokenStore({ pool, tableName: randomTableName() });
    await expect(store.listFamilies('u', Date.now())).rejects.toMatchObject({ code: '42P01' }); // undefined_table
  });
});

describe('values are parameters', () => {
  it('stores ids and texts full of SQL byte for byte', async () => {
    const store = await migratedStore(pool);
    const userId = `o'hara"; DROP TABLE x; --`;
    const family = newFamily(Date.now(), { userId, userAgent: "'); DELETE FROM ert_families; --", ip: '$1' });
    await store.createFamily(family, { maxSessionsPerUser: 5, now: family.createdAt });
    const [session] = await store.listFamilies(userId, family.createdAt);
    expect(session).toMatchObject({ userId, userAgent: family.userAgent, ip: '$1' });
    expect(await store.revokeUser(userId, family.createdAt)).toEqual([family.familyId]);
  });
});

describe('the session cap', () => {
  it('holds exactly under 20 parallel logins of one user, and never evicts the new family', async () => {
    const store = await migratedStore(pool);
    const now = Date.now();
    const userId = `user-${random(6)}`;
    // All with the same createdAt: the new family must still never be the one evicted.
    const families = Array.from({ length: 20 }, () => newFamily(now, { userId }));
    const results = await Promise.all(families.map((family) => store.createFamily(family, { maxSessionsPerUser: 3, now })));
    results.forEach((result, i) => expect(result.evictedFamilyIds).not.toContain(families[i]!.familyId));
    const evicted = results.flatMap((result) => result.evictedFamilyIds);
    const live = (await store.listFamilies(userId, now)).map((session) => session.familyId);
    expect(live).toHaveLength(3);
    expect(new Set(evicted).size).toBe(17);
    expect([...live, ...evicted].sort()).toEqual(families.map((family) => family.familyId).sort());
  });

  it('evicts the oldest first and returns them oldest first', async () => {
    const store = await migratedStore(pool);
    const now = Date.now();
    const userId = `user-${random(6)}`;
    const families = [0, 1, 2, 3].map((i) => newFamily(now + i, { userId }));
    for (const family of families.slice(0, 3)) await store.createFamily(family, { maxSessionsPerUser: 5, now: family.createdAt });
    const { evictedFamilyIds } = await store.createFamily(families[3]!, { maxSessionsPerUser: 2, now: now + 3 });
    expect(evictedFamilyIds).toEqual([families[0]!.familyId, families[1]!.familyId]);
  });

  it("breaks createdAt ties by family id in byte order, as every store does, whatever the database's collation", async () => {
    // An ICU collation sorts '_' before letters and 'a' before 'B'; byte order is 'B' < '_' < 'a'.
    const database = `ert_icu_${random(4)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`;
    await pool.query(`CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.utf8'`);
    const icuPool = new Pool({ ...connection(sharedPort()), database });
    try {
      const store = await migratedStore(icuPool);
      const now = Date.now();
      const userId = `user-${random(6)}`;
      const shard = shardKeyOf(userId);
      const [upper, underscore, lower, last] = ['B', '_', 'a', 'z'].map((first) =>
        newFamily(now, { userId, familyId: shard + first + random(16) }),
      );
      for (const family of [lower, underscore, upper]) await store.createFamily(family!, { maxSessionsPerUser: 5, now });
      const { evictedFamilyIds } = await store.createFamily(last!, { maxSessionsPerUser: 2, now });
      expect(evictedFamilyIds).toEqual([upper!.familyId, underscore!.familyId]);
      expect((await store.listFamilies(userId, now)).map((session) => session.familyId)).toEqual([lower!.familyId, last!.familyId]);
    } finally {
      await icuPool.end();
      await pool.query(`DROP DATABASE ${database}`);
    }
  });
});

describe('clean-up of dead rows', () => {
  it(`deletes at most ${CLEANUP_BATCH} dead families per login, and none that is live`, async () => {
    const tableName = randomTableName();
    const store = await migratedStore(pool, tableName);
    const now = Date.now();
    for (let i = 0; i < 40; i++) await store.createFamily(newFamily(now, { expiresAt: now + 1000 }), { maxSessionsPerUser: 5, now });
    const live = newFamily(now, { expiresAt: now + 10 * DAY });
    await store.createFamily(live, { maxSessionsPerUser: 5, now });
    expect(await count(tableName)).toBe(41);
    const later = now + 2000;
    await store.createFamily(newFamily(later), { maxSessionsPerUser: 5, now: later });
    expect(await count(tableName)).toBe(42 - CLEANUP_BATCH);
    for (let i = 0; i < 3; i++) await store.createFamily(newFamily(later), { maxSessionsPerUser: 5, now: later });
    expect(await count(tableName)).toBe(5); // every dead one gone; the live ones stay
    expect(await store.isAccessTokenRevoked({ familyId: live.familyId, jti: 'j', userId: live.userId, now: later })).toBe(false);
  });

  it(`deletes at most ${CLEANUP_BATCH} dead denylist entries per denylisting`, async () => {
    const tableName = randomTableName();
    const store = await migratedStore(pool, tableName);
    const now = Date.now();
    for (let i = 0; i < 40; i++) await store.denylistAccessToken({ familyId: 'f', jti: random(8), expiresAt: now + 1000, now });
    const later = now + 2000;
    const kept = random(8);
    await store.denylistAccessToken({ familyId: 'f', jti: kept, expiresAt: later + 60_000, now: later });
    expect(await count(`${tableName}_denylist`)).toBe(41 - CLEANUP_BATCH);
    expect(await store.isAccessTokenRevoked({ familyId: 'f', jti: kept, userId: 'u', now: later })).toBe(true);
  });
});

describe('transaction isolation', () => {
  it('retries the serialization failures of SERIALIZABLE transactions: one of 20 parallel rotations wins', async () => {
    const serializable = sharedPool({
      options: '-c default_transaction_isolation=serializable',
      max: 20,
      statement_timeout: 0,
      query_timeout: 0,
    });
    const holder = new Client(connection(sharedPort()));
    const failures: string[] = [];
    const counting: PostgresQueryable = {
      query: (text, values) =>
        serializable.query(text, values).catch((error: { code?: string }) => {
          failures.push(error.code ?? '?');
          throw error;
        }),
    };
    try {
      await holder.connect();
      const tableName = randomTableName();
      const store = new PostgresTokenStore({ pool: counting, tableName });
      await store.migrate();
      const now = Date.now();
      const family = newFamily(now);
      await store.createFamily(family, { maxSessionsPerUser: 5, now });
      // Every rotation starts (and takes its snapshot) while another transaction holds the row:
      // the first to get it rotates, and every other one then fails to serialize, and is retried.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM ${tableName} WHERE family_id = $1 FOR UPDATE`, [family.familyId]);
      const rotations = Promise.all(
        Array.from({ length: 20 }, () =>
          store.rotate({
            familyId: family.familyId,
            presentedHash: family.tokenHash,
            proofHash: family.proofHash,
            successorHash: random(),
            now,
            idleTtlMs: DAY,
            graceMs: 0,
          }),
        ),
      );
      await waitUntil('the rotations did not all wait for the row lock', async () => {
        // (Not on the holder: inside a transaction, pg_stat_activity does not change.)
        const { rows } = await pool.query("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1", [
          `%${tableName}_rotate%`,
        ]);
        return Number(rows[0].n) === 20;
      });
      await holder.query('COMMIT');
      const results = await rotations;
      expect(results.filter((result) => result.outcome === 'rotated')).toHaveLength(1);
      expect(results.every((result) => ['rotated', 'reused', 'invalid'].includes(result.outcome))).toBe(true);
      expect(failures.length).toBeGreaterThanOrEqual(19);
      expect(new Set(failures)).toEqual(new Set(['40001']));
    } finally {
      await Promise.all([serializable.end(), holder.end()]);
    }
  });

  it('refuses REPEATABLE READ, under which two parallel logins could both escape the cap', async () => {
    const repeatableRead = sharedPool({ options: '-c default_transaction_isolation=repeatable\\ read' });
    try {
      const store = new PostgresTokenStore({ pool: repeatableRead, tableName: randomTableName() });
      await store.migrate();
      const family = newFamily(Date.now());
      await expect(store.createFamily(family, { maxSessionsPerUser: 5, now: family.createdAt })).rejects.toMatchObject({ code: '0A000' });
      await expect(store.revokeUser(family.userId, family.createdAt)).rejects.toMatchObject({ code: '0A000' });
    } finally {
      await repeatableRead.end();
    }
  });
});

describe('indexes', () => {
  it('has an index behind every statement the store runs, functions included (no sequential scan)', async () => {
    // auto_explain reports the plan of every statement, nested ones too, as a notice to this client.
    const client = new Client(connection(sharedPort()));
    await client.connect();
    const plans: string[] = [];
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    try {
      await client.query("LOAD 'auto_explain'");
      await client.query('SET enable_seqscan = off');
      const store = await migratedStore(client as unknown as Pool);
      const now = Date.now();
      const family = newFamily(now, { userAgent: 'ua', ip: '127.0.0.1' });
      for (const setting of ['log_min_duration = 0', 'log_nested_statements = on', 'log_level = notice'])
        await client.query(`SET auto_explain.${setting}`);
      await store.createFamily(family, { maxSessionsPerUser: 1, now });
      const successorHash = random();
      await store.rotate({
        familyId: family.familyId,
        presentedHash: family.tokenHash,
        proofHash: family.proofHash,
        successorHash,
        now,
        idleTtlMs: DAY,
        graceMs: 0,
      });
      await store.rotate({
        familyId: family.familyId,
        presentedHash: family.tokenHash,
        proofHash: family.proofHash,
        successorHash: random(),
        now,
        idleTtlMs: DAY,
        graceMs: 0,
      });
      const second = newFamily(now);
      await store.createFamily(second, { maxSessionsPerUser: 1, now });
      await store.listFamilies(second.userId, now);
      await store.isAccessTokenRevoked({ familyId: second.familyId, jti: 'j', userId: second.userId, now });
      await store.denylistAccessToken({ familyId: second.familyId, jti: 'j', expiresAt: now + 1000, now });
      await store.revokeFamily(second.familyId, { proofHash: second.proofHash, now });
      await store.revokeUser(second.userId, now);
      const counters = [
        { key: 'u:a', limit: 1, windowMs: 1000 },
        { key: 'ip', limit: 5, windowMs: 1000 },
      ];
      await store.hitLoginAttempt({ group: 'g', counters, now });
      await store.hitLoginAttempt({ group: 'g', counters, now });
      await store.hitLoginAttempt({ group: 'g', counters, now: now + 2000 });
      await store.resetLoginAttempts({ group: 'g', clear: ['u:a'], decrement: ['ip'], now: now + 2000 });
      await client.query('SET auto_explain.log_min_duration = -1');
      expect(plans.length).toBeGreaterThan(10);
      expect(plans.filter((plan) => plan.includes('Seq Scan'))).toEqual([]);
    } finally {
      await client.end();
    }
  });
});
