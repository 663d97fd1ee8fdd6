/* A store put to work through the public API: a session started, listed, rotated. */
import express from 'express';
import request from 'supertest';
import { createAuth, type RefreshTokenStore } from '../../src/index.js';
import { cookieHeader, refreshCookie, SECRET } from './app.js';

/** Starts a session on `store` and refreshes it once; resolves to the user's live session ids. */
export async function useStore(store: RefreshTokenStore, userId: string): Promise<string[]> {
  const auth = createAuth({ accessToken: { secret: SECRET }, store });
  const app = express();
  app.use('/auth', auth.router);
  app.post('/sign-in', async (req, res) => res.json(await auth.startSession(req, res, { id: userId })));
  const started = await request(app).post('/sign-in');
  expect(started.status).toBe(200);
  const refreshed = await request(app)
    .post('/auth/refresh')
    .set('Cookie', cookieHeader(refreshCookie(started)!.value));
  expect(refreshed.status).toBe(200);
  return (await auth.listSessions(userId)).map((session) => session.id);
}
