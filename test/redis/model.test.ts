import fc from 'fast-check';
import type { Cluster, Redis } from 'ioredis';
import { RedisTokenStore } from '../../src/index.js';
import { MODEL_RUNS, runScenario, scenarioArbitrary } from '../model/model.js';
import { regressions } from '../model/regressions.js';
import { clusterClient, randomPrefix, standaloneClient } from './clients.js';

describe.each([
  ['standalone', () => standaloneClient()],
  ['cluster', () => clusterClient()],
] as const)('RedisTokenStore (%s) against the model', (_name, connect) => {
  let client: Redis | Cluster;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.quit());

  const run = (scenario: Parameters<typeof runScenario>[1]) =>
    runScenario(new RedisTokenStore({ client, keyPrefix: randomPrefix() }), scenario);

  it('matches the model on random sequences (fixed seed)', async () => {
    await fc.assert(fc.asyncProperty(scenarioArbitrary, run), { ...MODEL_RUNS, numRuns: 100 });
  }, 120_000);

  it.each(regressions)('matches the model: $name', async ({ scenario }) => {
    await run(scenario);
  });
});
