// Compiled by test/package.test.ts with `tsc --strict` against the packed package, in a folder
// without ioredis or pg: what a strict TypeScript app that never uses Redis sees.
import express from 'express';
import { getAuth, requireAccessToken, type AuthInfo } from 'express-refresh-tokens';

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

export default app;
