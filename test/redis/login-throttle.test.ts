/*
 * The login throttle on RedisTokenStore beyond the shared HTTP suite (test/redis/http): counters
 * shared by app instances, what lands in Redis (hash tags, TTLs), the round trips of a login, and
 * a Redis that is down (a PRIVATE server, so the shared ones are never touched).
 */
import { Redis, type Cluster } from 'ioredis';
import { RedisTokenStore, recommendedClusterOptions, recommendedRedisOptions } from '../../src/index.js';
import { PASSWORD } from '../helpers/app.js';
import { attempt, expectThrottled, fail, MINUTE, throttleApp } from '../suites/login-throttle.js';
import { expectError } from '../helpers/app.js';
import { clusterClient, randomPrefix, standaloneClient } from './clients.js';
import { RedisServer } from './servers.js';

describe.each([
  ['Redis', () => standaloneClient(recommendedRedisOptions)],
  ['Redis Cluster', () => clusterClient(recommendedClusterOptions)],
] as const)('the login throttle on %s', (_name, connect) => {
  let first: Redis | Cluster;
  let second: Redis | Cluster;
  beforeAll(async () => {
    [first, second] = await Promise.all([connect(), connect()]);
  });
  afterAll(() => Promise.all([first.quit(), second.quit()]));

  /** Two app instances, each with its own client, on one Redis and one key prefix, with one clock. */
  async function twoInstances() {
    const keyPrefix = randomPrefix();
    const clock = { now: Date.now() };
    const a = await throttleApp({ store: new RedisTokenStore({ client: first, keyPrefix }) }, clock);
    const b = await throttleApp({ store: new RedisTokenStore({ client: second, keyPrefix }) }, clock);
    return { a, b, keyPrefix };
  }

  it('shares the counters between app instances: failures on one count on the other, and a success on one resets both', async () => {
    const { a, b } = await twoInstances();
    await fail(a, 'alice', 2);
    await fail(b, 'alice', 2);
    expect((await attempt(a, 'alice', PASSWORD)).status).toBe(200);
    await fail(a, 'alice', 3);
    await fail(b, 'alice', 2);
    expectThrottled(await attempt(a, 'alice', PASSWORD), 900);
    expectThrottled(await attempt(b, 'alice', PASSWORD), 900);
    expect(a.checks.count + b.checks.count).toBe(10);
  });

  it('lets at most 5 of 20 parallel wrong passwords, spread over two instances, reach verifyCredentials', async () => {
    const { a, b } = await twoInstances();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i % 2 ? a : b, 'alice', 'wrong password')));
    expect(a.checks.count + b.checks.count).toBe(5);
    expect(results.filter((res) => res.status === 401)).toHaveLength(5);
    for (const res of results.filter((res) => res.status !== 401)) expectThrottled(res, 900);
  });

  it("keeps an attempt's counters in one slot, each with the TTL of its window", async () => {
    const { a, keyPrefix } = await twoInstances();
    await fail(a, 'alice', 1);
    const keys = await keysOf(first, `${keyPrefix}*`);
    expect(keys).toHaveLength(2);
    expect(new Set(keys.map((key) => /\{(l:[\w-]+)\}/.exec(key)?.[1])).size).toBe(1);
    const ttls = Object.fromEntries(
      await Promise.all(keys.map(async (key) => [key.endsWith(':ip') ? 'ip' : 'user', await first.pttl(key)])),
    );
    expect(ttls.user).toBeGreaterThan(15 * MINUTE - 5000);
    expect(ttls.user).toBeLessThanOrEqual(15 * MINUTE);
    expect(ttls.ip).toBeGreaterThan(24 * 60 * MINUTE - 5000);
    expect(ttls.ip).toBeLessThanOrEqual(24 * 60 * MINUTE);
    expect(keys.join()).not.toMatch(/alice|203\.0\.113/);
  });

  it('takes one round trip for the throttle: one command for a refused or a failed login', async () => {
    const { a } = await twoInstances();
    const sent = jest.spyOn(first, 'sendCommand');
    try {
      await fail(a, 'alice', 1);
      expect(sent.mock.calls.map(([command]) => (command as { name: string }).name)).toEqual(['evalsha']);
      await fail(a, 'alice', 4);
      sent.mockClear();
      expectThrottled(await attempt(a, 'alice', 'wrong password'), 900);
      expect(sent).toHaveBeenCalledTimes(1);
    } finally {
      sent.mockRestore();
    }
  });
});

async function keysOf(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = 'nodes' in client && typeof client.nodes === 'function' ? client.nodes('master') : [client as Redis];
  return (await Promise.all(nodes.map((node) => node.keys(pattern)))).flat();
}

describe('the login throttle when Redis is down', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({ ...recommendedRedisOptions, host: '127.0.0.1', port: server.port, lazyConnect: true });
    client.on('error', () => undefined); // connection errors are the point here
    await client.connect();
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  it('answers 503 within storeTimeoutMs when Redis hangs, and checks no password', async () => {
    const t = await throttleApp({ store: new RedisTokenStore({ client, keyPrefix: randomPrefix() }), storeTimeoutMs: 300 });
    server.pause();
    try {
      expectError(await attempt(t, 'alice', PASSWORD), 503, 'store_unavailable');
      expect(t.checks.count).toBe(0);
    } finally {
      server.resume();
    }
  });

  it('answers 503 store_unavailable when Redis is gone, and checks no password', async () => {
    const t = await throttleApp({ store: new RedisTokenStore({ client, keyPrefix: randomPrefix() }) });
    await fail(t, 'alice', 1);
    await server.kill();
    const started = Date.now();
    expectError(await attempt(t, 'alice', PASSWORD), 503, 'store_unavailable');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(t.checks.count).toBe(1);
  });
});
