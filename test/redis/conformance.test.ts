/*
 * The store conformance suite, run against RedisTokenStore exactly as a third-party adapter would
 * run it: on the shared standalone server and on the shared 3-master cluster, with the recommended
 * client settings, plus once on standalone with ioredis defaults over RESP2 (the default is RESP3).
 * Each store gets its own random key prefix.
 */
import type { Cluster, Redis } from 'ioredis';
import { RedisTokenStore, recommendedClusterOptions, recommendedRedisOptions } from '../../src/store/redis.js';
import { testRefreshTokenStore } from '../../src/testing/index.js';
import { clusterClient, randomPrefix, standaloneClient } from './clients.js';

let standalone: Redis;
let standaloneResp2: Redis;
let cluster: Cluster;

beforeAll(async () => {
  [standalone, standaloneResp2, cluster] = await Promise.all([
    standaloneClient(recommendedRedisOptions),
    standaloneClient({ protocol: 2 }),
    clusterClient(recommendedClusterOptions),
  ]);
});

afterAll(async () => {
  await Promise.all([standalone?.quit(), standaloneResp2?.quit(), cluster?.quit()]);
});

const options = { concurrency: 200 };

testRefreshTokenStore(
  'RedisTokenStore (standalone)',
  () => new RedisTokenStore({ client: standalone, keyPrefix: randomPrefix() }),
  options,
);

testRefreshTokenStore(
  'RedisTokenStore (standalone, RESP2)',
  () => new RedisTokenStore({ client: standaloneResp2, keyPrefix: randomPrefix() }),
  options,
);

testRefreshTokenStore('RedisTokenStore (cluster)', () => new RedisTokenStore({ client: cluster, keyPrefix: randomPrefix() }), options);
