import fc from 'fast-check';
import { MemoryTokenStore } from '../../src/index.js';
import { MODEL_RUNS, runScenario, scenarioArbitrary } from './model.js';
import { regressions } from './regressions.js';

describe('MemoryTokenStore against the model', () => {
  it('matches the model on random sequences (fixed seed)', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        const store = new MemoryTokenStore();
        try {
          await runScenario(store, scenario);
        } finally {
          await store.close();
        }
      }),
      MODEL_RUNS,
    );
  }, 120_000);

  it.each(regressions)('matches the model: $name', async ({ scenario }) => {
    const store = new MemoryTokenStore();
    try {
      await runScenario(store, scenario);
    } finally {
      await store.close();
    }
  });
});
