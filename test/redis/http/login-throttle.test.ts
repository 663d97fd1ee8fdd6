import type { Cluster, Redis } from 'ioredis';
import { RedisTokenStore, recommendedClusterOptions, recommendedRedisOptions } from '../../../src/index.js';
import { describeLoginThrottle } from '../../suites/login-throttle.js';
import { clusterClient, randomPrefix, standaloneClient } from '../clients.js';

describe.each([
  ['Redis', () => standaloneClient(recommendedRedisOptions)],
  ['Redis Cluster', () => clusterClient(recommendedClusterOptions)],
] as const)('%s', (name, connect) => {
  let client: Redis | Cluster;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.quit());

  describeLoginThrottle(name, () => new RedisTokenStore({ client, keyPrefix: randomPrefix() }));
});
