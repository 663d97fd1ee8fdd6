import type { Pool } from 'pg';
import { describeCreateAuth } from '../suites/create-auth.js';
import { migratedStore, sharedPool } from './clients.js';

let pool: Pool;
beforeAll(() => {
  pool = sharedPool();
});
afterAll(() => pool.end());

describeCreateAuth('PostgreSQL', () => migratedStore(pool));
