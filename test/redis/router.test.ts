/*
 * The router on RedisTokenStore, over real HTTP: the guarantees in the README ("How rotation and reuse detection work") on standalone Redis
 * and on the 3-master Cluster, and what the store leaves in Redis. (Faults: resilience.test.ts.)
 */
import { Redis, type Cluster } from 'ioredis';
import request from 'supertest';
import { RedisTokenStore, recommendedClusterOptions, recommendedRedisOptions } from '../../src/index.js';
import { cookieHeader, login, makeApp, me, refresh, refreshCookie, type TestApp } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';
import { sessionIdOf } from '../suites/shared.js';
import { clusterClient, randomPrefix, standaloneClient } from './clients.js';

/** Every key under the prefix with its TTL and everything it holds, on every master. */
async function dump(nodes: Redis[], prefix: string): Promise<{ key: string; pttl: number; content: string }[]> {
  const keys: { key: string; pttl: number; content: string }[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000');
      cursor = next;
      for (const key of batch) {
        const type = await node.type(key);
        const content =
          type === 'hash'
            ? JSON.stringify(await node.hgetall(key))
            : type === 'zset'
              ? JSON.stringify(await node.zrange(key, '0', '-1'))
              : String(await node.get(key));
        keys.push({ key, pttl: await node.pttl(key), content });
      }
    } while (cursor !== '0');
  }
  return keys;
}

describe.each([
  ['standalone', () => standaloneClient(recommendedRedisOptions)],
  ['cluster', () => clusterClient(recommendedClusterOptions)],
] as const)('the router on RedisTokenStore (%s)', (_name, connect) => {
  let client: Redis | Cluster;
  let prefix: string;
  let t: TestApp;

  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.quit());
  beforeEach(async () => {
    prefix = randomPrefix();
    t = await makeApp({ store: new RedisTokenStore({ client, keyPrefix: prefix }), refreshToken: { reuseGraceSeconds: 0 } });
  });

  it('lets exactly one of 200 parallel refreshes with one token succeed, then the family is revoked (reuseGraceSeconds: 0)', async () => {
    const { refreshToken } = await login(t);
    const results = await Promise.all(Array.from({ length: 200 }, () => refresh(t, refreshToken)));
    const statuses = results.map((res) => res.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(199);
    const winner = results.find((res) => res.status === 200)!;
    expect((await refresh(t, refreshCookie(winner)!.value)).status).toBe(401);
    expect(await t.store.listFamilies('u-alice', t.clock.now)).toEqual([]);
  });

  it('runs the whole session life: sessions, delete, logout-all, revocation checks', async () => {
    const laptop = await login(t);
    t.clock.now += 1000;
    const phone = await login(t);
    const sessions = await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${phone.accessToken}`);
    expect(sessions.body.sessions.map((s: { current: boolean }) => s.current)).toEqual([false, true]);
    const id = sessionIdOf(laptop.refreshToken);
    expect((await request(t.app).delete(`/auth/sessions/${id}`).set('Authorization', `Bearer ${phone.accessToken}`)).status).toBe(204);
    expect((await me(t, laptop.accessToken)).status).toBe(401);
    expect((await request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${phone.accessToken}`)).status).toBe(204);
    expect((await refresh(t, phone.refreshToken)).status).toBe(401);
    expect((await me(t, phone.accessToken)).body.error).toBe('invalid_token');
  });

  it('keeps a denylisted access token until its exp plus the largest clock tolerance (300 s)', async () => {
    const { accessToken } = await login(t);
    await request(t.app).post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
    const nodes = 'nodes' in client ? (client as Cluster).nodes('master') : [client as Redis];
    const denylisted = (await dump(nodes, prefix)).filter((key) => key.key.includes('}:d:'));
    const exp = claimsOf(accessToken).exp as number;
    expect(denylisted.map((key) => Number(key.content))).toEqual([(exp + 300) * 1000]);
    expect(denylisted[0]!.pttl).toBeGreaterThan((exp + 299) * 1000 - t.clock.now);
  });

  it('leaves no key without a TTL and no token in plaintext', async () => {
    const seen: string[] = [];
    for (const username of ['alice', 'bob', 'alice']) {
      const session = await login(t, username);
      seen.push(session.accessToken, session.refreshToken);
      const rotated = await refresh(t, session.refreshToken);
      seen.push(rotated.body.accessToken, refreshCookie(rotated)!.value);
    }
    const last = refreshCookie(await refresh(t, seen.at(-1)!))!.value;
    seen.push(last);
    await request(t.app)
      .post('/auth/logout')
      .set('Cookie', cookieHeader(last))
      .set('Authorization', `Bearer ${seen.at(-2)}`);

    const nodes = 'nodes' in client ? (client as Cluster).nodes('master') : [client as Redis];
    const keys = await dump(nodes, prefix);
    expect(keys.length).toBeGreaterThanOrEqual(4); // families, user indexes and the denylisted jti
    expect(keys.filter((key) => key.pttl <= 0)).toEqual([]);
    // Of a refresh token, its proof and its random part (the family id is meant to be seen); of a
    // JWT, its signature.
    const secrets = seen.flatMap((token) => (token.startsWith('eyJ') ? [token.split('.')[2]!] : token.split('.').slice(1)));
    expect(secrets).toHaveLength(6 + 7 * 2); // 6 access tokens, 7 refresh tokens
    for (const secret of secrets) {
      expect(keys.filter((key) => key.content.includes(secret) || key.key.includes(secret))).toEqual([]);
    }
  });
});
