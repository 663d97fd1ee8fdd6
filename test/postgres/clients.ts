/* Pools and tables on the shared server that global-setup.ts started. */
import { randomBytes } from 'node:crypto';
import { Pool, type PoolConfig } from 'pg';
import { PostgresTokenStore, recommendedPostgresPoolOptions } from '../../src/store/postgres.js';
import { connection } from './server.js';

export function sharedPort(): number {
  const port = Number(process.env.ERT_PG_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error('ERT_PG_PORT is not set: run these tests with the jest "postgres" project');
  return port;
}

/** A pool on a server with the store's recommended settings and an error listener (idle connections die with the server). */
export function poolFor(port: number, options: PoolConfig = {}): Pool {
  const pool = new Pool({ ...connection(port), ...recommendedPostgresPoolOptions, ...options });
  pool.on('error', () => undefined);
  return pool;
}

/** A pool of the shared server, with the recommended settings. */
export function sharedPool(options: PoolConfig = {}): Pool {
  return poolFor(sharedPort(), options);
}

/** A table name no other test uses. */
export function randomTableName(): string {
  return `ert_test_${randomBytes(6).toString('hex')}`;
}

/** A store on a new table of its own, migrated. */
export async function migratedStore(pool: Pool, tableName = randomTableName()): Promise<PostgresTokenStore> {
  const store = new PostgresTokenStore({ pool, tableName });
  await store.migrate();
  return store;
}
