import type { Scenario } from './model.js';

/**
 * Sequences kept as regular tests: shrunk counterexamples the property found, and the edges
 * it must keep covering whatever the seed.
 */
export const regressions: { name: string; scenario: Scenario }[] = [
  {
    name: 'a grace retry, then the successor, then the grandparent (reuse)',
    scenario: {
      graceSeconds: 10,
      steps: [
        { kind: 'login', user: 0 },
        { kind: 'refresh', family: 0, token: 0 },
        { kind: 'refresh', family: 0, token: 0 },
        { kind: 'refresh', family: 0, token: 1 },
        { kind: 'refresh', family: 0, token: 0 },
        { kind: 'refresh', family: 0, token: 2 },
      ],
    },
  },
  {
    name: 'the session cap evicts the oldest, and logout-all ends the rest',
    scenario: {
      graceSeconds: 0,
      steps: [
        { kind: 'login', user: 0 },
        { kind: 'login', user: 1 },
        { kind: 'login', user: 0 },
        { kind: 'login', user: 0 },
        { kind: 'login', user: 0 },
        { kind: 'refresh', family: 0, token: 0 },
        { kind: 'logoutAll', family: 2 },
        { kind: 'refresh', family: 1, token: 0 },
        { kind: 'deleteSession', family: 0, by: 1 },
      ],
    },
  },
  {
    name: 'idle expiry slides with use and stops at the absolute expiry',
    scenario: {
      graceSeconds: 0,
      steps: [
        { kind: 'login', user: 1 },
        { kind: 'advance', ms: 3000_000 },
        { kind: 'refresh', family: 0, token: 0 },
        { kind: 'advance', ms: 3000_000 },
        { kind: 'refresh', family: 0, token: 1 },
        { kind: 'advance', ms: 3000_000 },
        { kind: 'refresh', family: 0, token: 2 },
        { kind: 'advance', ms: 3000_000 },
        { kind: 'refresh', family: 0, token: 3 },
      ],
    },
  },
];
