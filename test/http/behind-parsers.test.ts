import cookieParser from 'cookie-parser';
import express from 'express';
import request from 'supertest';
import { cookieHeader, expectError, makeApp, PASSWORD, refreshCookie, type TestApp } from '../helpers/app.js';

// The router reads the raw Cookie header and its own JSON body; these apps put the parsers a
// typical Express app has in front of it, and everything must work the same.
describe.each([
  ['cookie-parser with a secret', () => [cookieParser('an-app-cookie-secret')]],
  ['express.urlencoded() and express.json()', () => [express.urlencoded({ extended: false }), express.json()]],
])('the router behind %s', (_name, parsers) => {
  let t: TestApp;
  let app: express.Express;
  beforeEach(async () => {
    t = await makeApp();
    app = express();
    app.use(...parsers());
    app.use(t.app);
  });

  it('logs in, refreshes and logs out with the cookie', async () => {
    const login = await request(app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
    expect(login.status).toBe(200);
    const first = refreshCookie(login)!;
    expect(first.attributes).toEqual(expect.arrayContaining(['Path=/auth', 'HttpOnly']));
    const rotated = await request(app).post('/auth/refresh').set('Cookie', cookieHeader(first.value));
    expect(rotated.status).toBe(200);
    const next = refreshCookie(rotated)!.value;
    expect(next).not.toBe(first.value);
    const logout = await request(app).post('/auth/logout').set('Cookie', cookieHeader(next));
    expect(logout.status).toBe(204);
    expect(refreshCookie(logout)!.value).toBe('');
    expectError(await request(app).post('/auth/refresh').set('Cookie', cookieHeader(next)), 401, 'invalid_grant');
  });

  it('still refuses two refresh cookies with 400, and rotates neither', async () => {
    const victim = refreshCookie(await request(app).post('/auth/login').send({ username: 'alice', password: PASSWORD }))!.value;
    const attacker = refreshCookie(await request(app).post('/auth/login').send({ username: 'bob', password: PASSWORD }))!.value;
    const res = await request(app)
      .post('/auth/refresh')
      .set('Cookie', `${cookieHeader(attacker)}; theme=dark; ${cookieHeader(victim)}`);
    expectError(res, 400, 'invalid_request');
    expect(res.headers['set-cookie']).toBeUndefined();
    for (const token of [victim, attacker]) {
      expect((await request(app).post('/auth/refresh').set('Cookie', cookieHeader(token))).status).toBe(200);
    }
  });
});

describe("the router beside an app's own signed cookies (cookie-parser)", () => {
  it('sets, reads and refreshes with both kinds of cookie in one header', async () => {
    const t = await makeApp();
    const app = express();
    app.use(cookieParser('an-app-cookie-secret'));
    app.post('/prefs', (_req, res) => {
      res.cookie('theme', 'dark', { signed: true, httpOnly: true }).status(204).end();
    });
    app.get('/prefs', (req, res) => {
      res.json({ theme: req.signedCookies.theme ?? null });
    });
    app.use(t.app);
    const theme = (await request(app).post('/prefs')).headers['set-cookie']![0]!.split(';')[0]!;
    const login = await request(app).post('/auth/login').set('Cookie', theme).send({ username: 'alice', password: PASSWORD });
    const both = `${theme}; ${cookieHeader(refreshCookie(login)!.value)}`;
    expect((await request(app).post('/auth/refresh').set('Cookie', both)).status).toBe(200);
    expect((await request(app).get('/prefs').set('Cookie', both)).body).toEqual({ theme: 'dark' });
  });
});
