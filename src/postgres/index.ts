/**
 * `express-refresh-tokens/postgres`: the PostgreSQL store, apart from the package root so that
 * apps without PostgreSQL load none of it. It imports no driver: give it your `pg.Pool`.
 */
export { PostgresTokenStore, postgresSchema, recommendedPostgresPoolOptions } from '../store/postgres.js';
export type { PostgresQueryable, PostgresTokenStoreOptions } from '../store/postgres.js';
