import express from 'express';
import request from 'supertest';
import { expectError, login, makeApp, PASSWORD, type TestApp } from '../helpers/app.js';

describe('input attacks', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });

  describe('POST /login answers 400 invalid_request', () => {
    it.each([
      ['no body', undefined],
      ['an array body', [{ username: 'alice', password: PASSWORD }]],
      ['a numeric username', { username: 42, password: PASSWORD }],
      ['an object username', { username: { $ne: '' }, password: PASSWORD }],
      ['an array password', { username: 'alice', password: [PASSWORD] }],
      ['a null password', { username: 'alice', password: null }],
      ['a missing password', { username: 'alice' }],
      ['an empty username', { username: '', password: PASSWORD }],
      ['a username of 257 characters', { username: 'a'.repeat(257), password: PASSWORD }],
      ['a password of 1,025 bytes', { username: 'alice', password: 'é'.repeat(512) + 'x' }],
    ])('for %s', async (_name, body) => {
      const req = request(t.app).post('/auth/login');
      const res = body === undefined ? await req : await req.send(body as object);
      expectError(res, 400, 'invalid_request');
    });

    it('for a body that is not JSON', async () => {
      const res = await request(t.app).post('/auth/login').set('Content-Type', 'application/json').send('{"username": "alice",');
      expectError(res, 400, 'invalid_request');
    });

    it.each([
      ['text/plain', 'text/plain', JSON.stringify({ username: 'alice', password: PASSWORD })],
      ['a form', 'application/x-www-form-urlencoded', `username=alice&password=${encodeURIComponent(PASSWORD)}`],
    ])('for a %s body (JSON only)', async (_name, type, body) => {
      const res = await request(t.app).post('/auth/login').set('Content-Type', type).send(body);
      expectError(res, 400, 'invalid_request');
    });
  });

  it('accepts a username of 256 characters and a password of 1,024 bytes (and refuses them as credentials)', async () => {
    const res = await request(t.app).post('/auth/login').send({ username: 'a'.repeat(256), password: 'é'.repeat(512) });
    expectError(res, 401, 'invalid_credentials');
  });

  it('answers 400 invalid_request for a path parameter that is not well %-encoded', async () => {
    const { accessToken } = await login(t);
    for (const id of ['%E0%A4%A', '%', '%ZZ']) {
      const res = await request(t.app).delete(`/auth/sessions/${id}`).set('Authorization', `Bearer ${accessToken}`);
      expectError(res, 400, 'invalid_request');
    }
  });

  it('answers 400 invalid_request for a body that claims a compression it does not have', async () => {
    for (const encoding of ['gzip', 'deflate']) {
      const res = await request(t.app)
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send(JSON.stringify({ username: 'alice', password: PASSWORD }));
      expectError(res, 400, 'invalid_request');
    }
  });

  it('keeps its 16 KB limit behind an app-level express.json() with a larger one', async () => {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    app.use(t.app);
    const res = await request(app)
      .post('/auth/login')
      .send({ username: 'alice', password: PASSWORD, padding: 'x'.repeat(40 * 1024) });
    expectError(res, 413, 'payload_too_large');
    expect((await request(app).post('/auth/login').send({ username: 'alice', password: PASSWORD })).status).toBe(200);
  });

  it('answers 413 payload_too_large for a 1 MB body', async () => {
    const res = await request(t.app)
      .post('/auth/login')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ username: 'alice', password: PASSWORD, padding: 'x'.repeat(1024 * 1024) }));
    expectError(res, 413, 'payload_too_large');
  });

  it('ignores __proto__ and constructor.prototype keys and pollutes nothing', async () => {
    for (const body of [
      '{"__proto__": {"username": "alice", "password": "x", "polluted": true}}',
      '{"constructor": {"prototype": {"polluted": true}}, "username": "alice", "password": "wrong"}',
      '{"username": "alice", "password": "wrong", "__proto__": {"polluted": true}}',
    ]) {
      const res = await request(t.app).post('/auth/login').set('Content-Type', 'application/json').send(body);
      expect([400, 401]).toContain(res.status);
      expect(res.status === 400 ? 'invalid_request' : 'invalid_credentials').toBe(res.body.error);
    }
    const session = await login(t);
    const refresh = await request(t.app)
      .post('/auth/refresh')
      .set('Content-Type', 'application/json')
      .send(`{"__proto__": {"refreshToken": "${session.refreshToken}"}}`);
    expectError(refresh, 401, 'invalid_grant');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).username).toBeUndefined();
  });
});
