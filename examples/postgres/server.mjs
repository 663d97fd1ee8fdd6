// The basic example on PostgreSQL: the same app and page, with its sessions in PostgreSQL, as
// several instances of an app that runs no Redis would share them. DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres) says where; run it with `npm run demo:postgres`
// (port 3000, or PORT). It creates its tables (ert_demo_families, ert_demo_families_denylist) and
// functions on start-up with store.migrate().
import pg from 'pg';
import { PostgresTokenStore, recommendedPostgresPoolOptions } from 'express-refresh-tokens/postgres';
import { createDemoApp, demoUser, RANDOM_SECRET_NOTICE } from '../basic/app.mjs';

const port = Number(process.env.PORT ?? 3000);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// The app owns the pool; the store only uses it. With the recommended options an outage answers
// 503 within 1.5 s instead of hanging requests, and the pool opens new connections by itself once
// PostgreSQL is back. Without an 'error' listener, a connection dropped while idle would crash the app.
const pool = new pg.Pool({ connectionString: databaseUrl, ...recommendedPostgresPoolOptions });
pool.on('error', (error) => console.warn(`postgres: ${error.message}`));
const store = new PostgresTokenStore({ pool, tableName: 'ert_demo_families' });
await store.migrate();

const { app, secretIsRandom } = await createDemoApp({
  secret: process.env.JWT_SECRET,
  accessTokenTtl: process.env.ACCESS_TOKEN_TTL,
  idleTtl: process.env.REFRESH_IDLE_TTL,
  store,
});

if (secretIsRandom) console.log(RANDOM_SECRET_NOTICE);
const server = app.listen(port, () => {
  console.log(`express-refresh-tokens demo on PostgreSQL (${new URL(databaseUrl).host}) at http://localhost:${port}`);
  console.log(`demo user: ${demoUser.username} / ${demoUser.password}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    pool.end();
  });
}
