// Compiled by test/package/package.test.ts with `tsc --strict` against the packed package, in a folder
// without ioredis or pg: what a strict TypeScript app sees that installs neither.
import express from 'express';
import { getAuth, requireAccessToken, type AuthInfo } from 'express-refresh-tokens';
import { PostgresTokenStore, type PostgresQueryable } from 'express-refresh-tokens/postgres';

const accessToken = { secret: String(process.env.JWT_SECRET) };
const app = express();

app.get('/me', requireAccessToken(accessToken), (req, res) => {
  const auth: AuthInfo = getAuth(req);
  res.json({ userId: auth.userId, roles: auth.roles });
});

app.get('/maybe', requireAccessToken({ ...accessToken, optional: true }), (req, res) => {
  // @ts-expect-error req.auth stays optional: on this route it is undefined without a token.
  res.json({ userId: req.auth.userId });
});

app.get('/maybe-guarded', requireAccessToken({ ...accessToken, optional: true }), (req, res) => {
  res.json({ userId: req.auth?.userId ?? null });
});

// The PostgreSQL store on any query(text, values) client: its types need neither pg nor @types/pg.
const client: PostgresQueryable = { query: async () => ({ rows: [] }) };
export const store = new PostgresTokenStore({ pool: client, tableName: 'auth.sessions' });

export default app;
