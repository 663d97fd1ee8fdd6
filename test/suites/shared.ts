/* What the createAuth suites share: stores, an app that records every hook, small readers. */
import { MemoryTokenStore, type AuthHooks, type AuthOptions, type RefreshTokenStore } from '../../src/index.js';
import { makeApp, type TestApp } from '../helpers/app.js';

export type MakeStore = () => RefreshTokenStore | Promise<RefreshTokenStore>;

export const sessionIdOf = (refreshToken: string) => refreshToken.split('.')[0]!;

export const MINUTE = 60_000;

export interface Hooked {
  name: keyof AuthHooks;
  event: Record<string, unknown>;
}

/** `makeApp` on a fresh store with every hook recorded, `req` left out, in `hooked`. */
export async function recordingApp(makeStore: MakeStore, overrides: Partial<AuthOptions> = {}): Promise<TestApp & { hooked: Hooked[] }> {
  const hooked: Hooked[] = [];
  const names = ['onLogin', 'onLoginFailed', 'onRefresh', 'onReuseDetected', 'onLogout', 'onRevoke', 'onError'] as const;
  const hooks = Object.fromEntries(
    names.map((name) => [name, ({ req: _req, ...event }: Record<string, unknown>) => void hooked.push({ name, event })]),
  ) as AuthHooks;
  const t = await makeApp({ store: await makeStore(), hooks, ...overrides });
  return { ...t, hooked };
}

/** The events of one hook, in order. */
export function eventsOf(hooked: Hooked[], name: keyof AuthHooks): Record<string, unknown>[] {
  return hooked.filter((entry) => entry.name === name).map((entry) => entry.event);
}

/** The memory store, closed after each test. */
export function memoryStores(): () => MemoryTokenStore {
  const stores: MemoryTokenStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });
  return () => {
    const store = new MemoryTokenStore();
    stores.push(store);
    return store;
  };
}
