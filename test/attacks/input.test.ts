import express from 'express';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { authErrorHandler } from '../../src/index.js';
import { expectError, login, makeApp, PASSWORD, type TestApp } from '../helpers/app.js';

/** POSTs `chunks` as written, with `headers` and no Content-Length (so chunked), as a raw client can. */
async function postRaw(app: express.Express, path: string, headers: Record<string, string>, chunks: (string | Buffer)[]) {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as { port: number };
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } });
    for (const chunk of chunks) req.write(chunk);
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    let text = '';
    for await (const part of res) text += part;
    return { status: res.statusCode, type: res.headers['content-type'], body: JSON.parse(text) as unknown };
  } finally {
    server.close();
  }
}

/** The answer `expectError` expects, for a response read by `postRaw`. */
const tooLarge = {
  status: 413,
  type: 'application/json; charset=utf-8',
  body: { error: 'payload_too_large', message: expect.any(String) },
};

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
    const res = await request(t.app)
      .post('/auth/login')
      .send({ username: 'a'.repeat(256), password: 'é'.repeat(512) });
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

  it('keeps its 16 KB limit for a chunked body (no Content-Length) that an app-level parser read first', async () => {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    app.use(t.app);
    const padding = 'x'.repeat(8 * 1024);
    const res = await postRaw(app, '/auth/login', {}, [
      `{"username":"alice","password":"${PASSWORD}",`,
      `"a":"${padding}",`,
      `"b":"${padding}",`,
      `"c":"${padding}"}`,
    ]);
    expect(res).toEqual(tooLarge);
    expect(t.events).toEqual([]);
  });

  it('keeps its 16 KB limit for a gzip body that an app-level parser inflated past it', async () => {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    app.use(t.app);
    const body = gzipSync(JSON.stringify({ username: 'alice', password: PASSWORD, padding: 'x'.repeat(40 * 1024) }));
    expect(body.length).toBeLessThan(1024);
    expect(await postRaw(app, '/auth/login', { 'content-encoding': 'gzip', 'content-length': String(body.length) }, [body])).toEqual(
      tooLarge,
    );
  });

  it('answers JSON, never an HTML stack page, when an app-level parser fails before the router (authErrorHandler)', async () => {
    const app = express();
    app.use(express.json({ limit: '20kb' }));
    app.use(t.app);
    app.use('/auth', authErrorHandler());
    const malformed = await request(app).post('/auth/login').set('Content-Type', 'application/json').send('{"username": "alice",');
    expectError(malformed, 400, 'invalid_request');
    const tooLarge = await request(app)
      .post('/auth/login')
      .send({ username: 'alice', password: PASSWORD, padding: 'x'.repeat(30 * 1024) });
    expectError(tooLarge, 413, 'payload_too_large');
    expect((await request(app).post('/auth/login').send({ username: 'alice', password: PASSWORD })).status).toBe(200);
  });

  it('stores no ip that is not an IP address (X-Forwarded-For behind trust proxy)', async () => {
    t.app.set('trust proxy', true);
    const markup = `<img src=x onerror=alert(1)>${'<b>x</b>'.repeat(1536)}`;
    expect(markup.length).toBeGreaterThan(12 * 1024);
    const forged = await login(t, 'alice', { 'X-Forwarded-For': markup });
    await login(t, 'bob', { 'X-Forwarded-For': '203.0.113.7' });
    const ips = async (accessToken: string) =>
      (await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${accessToken}`)).body.sessions.map(
        (s: { ip: unknown }) => s.ip,
      );
    expect(await ips(forged.accessToken)).toEqual([null]);
    const bob = await login(t, 'bob', { 'X-Forwarded-For': '2001:db8::1, 10.0.0.1' });
    expect((await ips(bob.accessToken)).sort()).toEqual(['2001:db8::1', '203.0.113.7']);
  });

  it('answers GET /sessions without ETag, and never a bodyless 304 to If-None-Match', async () => {
    const { accessToken } = await login(t);
    const first = await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${accessToken}`);
    expect(first.status).toBe(200);
    expect(first.headers.etag).toBeUndefined();
    for (const tag of ['*', 'W/"anything"']) {
      const again = await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${accessToken}`).set('If-None-Match', tag);
      expect({ status: again.status, sessions: again.body.sessions?.length }).toEqual({ status: 200, sessions: 1 });
    }
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
