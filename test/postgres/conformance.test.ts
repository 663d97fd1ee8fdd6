/*
 * The store conformance suite, run against PostgresTokenStore exactly as a third-party adapter
 * would run it, each on a table of its own: on a pg.Pool with the recommended settings; on a pool
 * whose transactions are SERIALIZABLE (the store retries the serialization failures that the races
 * then cause); and on postgres.js (porsager/postgres) through a
 * `query(text, values)` wrapper, the way any other driver plugs in.
 */
import type { Pool } from 'pg';
import postgres from 'postgres';
import { PostgresTokenStore, type PostgresQueryable } from '../../src/store/postgres.js';
import { testRefreshTokenStore } from '../../src/testing/index.js';
import { randomTableName, sharedPool, sharedPort } from './clients.js';
import { connection } from './server.js';

const options = { concurrency: 200 };

let pool: Pool;
let serializable: Pool;
let sql: ReturnType<typeof postgres>;
/** postgres.js as a PostgresQueryable: its `unsafe` takes $n placeholders and values. */
let postgresJs: PostgresQueryable;

const tables = {
  pool: randomTableName(),
  serializable: `ert_conformance.${randomTableName()}`,
  postgresJs: randomTableName(),
};

beforeAll(async () => {
  pool = sharedPool();
  serializable = sharedPool({ options: '-c default_transaction_isolation=serializable' });
  sql = postgres({ ...connection(sharedPort()), username: 'postgres', max: 10, onnotice: () => undefined });
  postgresJs = { query: async (text, values) => ({ rows: await sql.unsafe(text, values as never[]) }) };
  await pool.query('CREATE SCHEMA IF NOT EXISTS ert_conformance');
  await new PostgresTokenStore({ pool, tableName: tables.pool }).migrate();
  await new PostgresTokenStore({ pool: serializable, tableName: tables.serializable }).migrate();
  await new PostgresTokenStore({ pool: postgresJs, tableName: tables.postgresJs }).migrate();
});

afterAll(async () => {
  await Promise.all([pool?.end(), serializable?.end(), sql?.end()]);
});

testRefreshTokenStore('PostgresTokenStore (pg.Pool)', () => new PostgresTokenStore({ pool, tableName: tables.pool }), options);

testRefreshTokenStore(
  'PostgresTokenStore (pg.Pool, SERIALIZABLE, schema.table)',
  () => new PostgresTokenStore({ pool: serializable, tableName: tables.serializable }),
  options,
);

testRefreshTokenStore(
  'PostgresTokenStore (postgres.js)',
  () => new PostgresTokenStore({ pool: postgresJs, tableName: tables.postgresJs }),
  options,
);
