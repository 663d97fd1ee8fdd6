/* The README's PostgresTokenStore set-up, run as written against the test server (README "Stores"). */
import { randomBytes } from 'node:crypto';
import * as pg from 'pg';
import * as postgres from '../../src/postgres/index.js';
import { readmeBlock, runBlock } from '../helpers/readme.js';
import { useStore } from '../helpers/store-in-use.js';
import { sharedPool, sharedPort } from './clients.js';

it('sets up a PostgresTokenStore as the README shows: migrate() on a new database, then sessions', async () => {
  // A database of its own, so that the README's table name meets no other test's.
  const database = `ert_readme_${randomBytes(4).toString('hex')}`;
  const admin = sharedPool({ max: 1 });
  await admin.query(`CREATE DATABASE ${database}`);
  const saved = process.env.DATABASE_URL;
  process.env.DATABASE_URL = `postgres://postgres@127.0.0.1:${sharedPort()}/${database}`;
  let pool: pg.Pool | undefined;
  try {
    const made = await runBlock(readmeBlock('### `PostgresTokenStore`'), {}, { pg, 'express-refresh-tokens/postgres': postgres }, [
      'pool',
      'store',
    ]);
    pool = made.pool as pg.Pool;
    expect(pool.listenerCount('error')).toBe(1);
    const table = await pool.query("SELECT to_regclass('ert_families') AS name");
    expect(table.rows).toEqual([{ name: 'ert_families' }]);
    expect(await useStore(made.store as postgres.PostgresTokenStore, 'readme-user')).toHaveLength(1);
  } finally {
    await pool?.end();
    process.env.DATABASE_URL = saved;
    await admin.query(`DROP DATABASE ${database}`);
    await admin.end();
  }
});
