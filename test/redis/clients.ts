/* ioredis clients for the shared servers that global-setup.ts started. */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisTokenStore, recommendedClusterOptions, recommendedRedisOptions } from '../../src/index.js';

function sharedPort(): number {
  const port = Number(process.env.ERT_REDIS_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error('ERT_REDIS_PORT is not set: run these tests with the jest "redis" project');
  return port;
}

export function clusterPorts(): number[] {
  const ports = (process.env.ERT_CLUSTER_PORTS ?? '').split(',').filter(Boolean).map(Number);
  if (ports.length === 0) throw new Error('ERT_CLUSTER_PORTS is not set: run these tests with the jest "redis" project');
  return ports;
}

/** A connected client of the shared standalone server. */
export async function standaloneClient(options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port: sharedPort(), lazyConnect: true, ...options });
  await client.connect();
  return client;
}

/** A connected client of the shared 3-master cluster. */
export async function clusterClient(options: ClusterOptions = {}): Promise<Cluster> {
  const client = new Cluster(
    clusterPorts().map((port) => ({ host: '127.0.0.1', port })),
    { lazyConnect: true, ...options },
  );
  await client.connect();
  return client;
}

/** A key prefix no other test uses. */
export function randomPrefix(): string {
  return `ert-test-${randomBytes(6).toString('hex')}:`;
}

/**
 * Defines `suite` twice, under `Redis` and `Redis Cluster`, each with a client of the shared
 * servers (the recommended options) and stores that each get a key prefix of their own.
 */
export function describeOnRedis(suite: (name: string, makeStore: () => RedisTokenStore) => void): void {
  describe.each([
    ['Redis', () => standaloneClient(recommendedRedisOptions)],
    ['Redis Cluster', () => clusterClient(recommendedClusterOptions)],
  ] as const)('%s', (name, connect) => {
    let client: Redis | Cluster;
    beforeAll(async () => {
      client = await connect();
    });
    afterAll(() => client.quit());

    suite(name, () => new RedisTokenStore({ client, keyPrefix: randomPrefix() }));
  });
}
