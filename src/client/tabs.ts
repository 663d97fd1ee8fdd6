/**
 * What the tabs of one origin tell each other: a new access token (`token`, with its expiry and
 * refresh time in ms by this machine's clock), the end of the session (`out`), or that a lock
 * holder is done (`idle`, after its other messages; never after a task that failed). `at`
 * orders them: a tab ignores a message older than the state it has.
 */
export type TabMessage =
  { t: 'token'; at: number; token: string; exp: number; due: number } | { t: 'out'; at: number } | { t: 'idle'; at: number };

export interface Tabs {
  /**
   * Runs `task` while no other task under this lock runs, in this client or (when shared) in any
   * other tab of the origin. `waited` is true when another tab held the lock first.
   */
  lock<T>(task: (waited: boolean) => Promise<T>): Promise<T>;
  post(message: TabMessage): void;
  /** How many messages came from the other tabs so far. */
  readonly heard: number;
  /**
   * Resolves once a message came after the first `since` (at once if one did already), or after
   * a second: what a tab that waited for the lock gives the holder's messages to arrive.
   */
  news(since: number): Promise<void>;
  /** Leaves the channel: this client hears and tells the other tabs nothing more. */
  close(): void;
}

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, task: (lock: unknown) => Promise<unknown>): Promise<unknown>;
  request(name: string, task: () => Promise<unknown>): Promise<unknown>;
}

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

type Task<T> = (waited: boolean) => Promise<T>;

/** How long a tab that waited for another tab's refresh waits for its message. */
const MESSAGE_WAIT_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The lock and channel of one client. `shared`: coordinate with the other tabs through the Web
 * Locks API (or, where it is missing, a lease in `localStorage`) and a `BroadcastChannel`;
 * otherwise the lock covers this client only and nothing is posted.
 */
export function connectTabs(name: string, shared: boolean, receive: (message: TabMessage) => void): Tabs {
  const g = globalThis as any;
  let crossTab: <T>(task: Task<T>) => Promise<T> = (task) => task(false);
  let channel: { postMessage(message: TabMessage): void; close(): void } | undefined;
  let heard = 0;
  let wake: (() => void) | undefined;
  if (shared) {
    if (g.BroadcastChannel) {
      const bc = new g.BroadcastChannel(name);
      bc.onmessage = (event: { data?: TabMessage }) => {
        if (!event.data?.t) return;
        heard++;
        wake?.();
        receive(event.data);
      };
      bc.unref?.(); // Node: do not keep the process alive
      channel = bc;
    }
    const locks: LockManagerLike | undefined = g.navigator?.locks;
    let storage: StorageLike | undefined;
    try {
      storage = g.localStorage; // throws where storage is blocked
    } catch {
      // no fallback lock then
    }
    if (locks) {
      crossTab = <T>(task: Task<T>) =>
        locks.request(name, { ifAvailable: true }, (held) =>
          held ? task(false) : (locks.request(name, () => task(true)) as Promise<T>),
        ) as Promise<T>;
    } else if (storage) {
      crossTab = (task) => lease(storage, name, task);
    }
  }

  // Within this client, one task at a time, in call order. After each that ends, the other tabs
  // hear `idle`: a tab that waited for the lock then knows that the holder's messages have come.
  // A task that failed says nothing: a refresh cut off (a network error, its page unloading) may
  // have rotated the token all the same, and the next holder then waits for news a little before
  // it refreshes (README "Several tabs").
  let queue: Promise<unknown> = Promise.resolve();
  return {
    lock<T>(task: Task<T>): Promise<T> {
      const run = queue.then(() =>
        crossTab(async (waited) => {
          const result = await task(waited);
          channel?.postMessage({ t: 'idle', at: Date.now() });
          return result;
        }),
      );
      queue = run.catch(() => undefined);
      return run;
    },
    post: (message) => channel?.postMessage(message),
    get heard() {
      return heard;
    },
    async news(since) {
      if (heard !== since) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, MESSAGE_WAIT_MS);
      });
      wake = undefined;
    },
    close() {
      channel?.close();
      channel = undefined;
    },
  };
}

/**
 * The fallback where the Web Locks API is missing (old browsers, pages on plain HTTP other than
 * localhost): a 10-second lease in `localStorage`, written, then read back after a pause so that
 * of two tabs writing at once only the last writer proceeds, and renewed while held. Best
 * effort, as `localStorage` is shared without transactions; the lease frees itself within 10
 * seconds if its tab dies.
 */
async function lease<T>(storage: StorageLike, key: string, task: Task<T>): Promise<T> {
  const me = `${Math.random()} `;
  let waited = false;
  for (;;) {
    const [, until] = (storage.getItem(key) ?? '').split(' ');
    if (!(Number(until) > Date.now())) {
      storage.setItem(key, me + (Date.now() + 10_000));
      await sleep(50);
      if (storage.getItem(key)?.startsWith(me)) break;
    }
    waited = true;
    await sleep(40 + Math.random() * 40);
  }
  // Renewed while the task runs, however long its request takes.
  const renew = setInterval(() => storage.setItem(key, me + (Date.now() + 10_000)), 3000);
  try {
    return await task(waited);
  } finally {
    clearInterval(renew);
    if (storage.getItem(key)?.startsWith(me)) storage.removeItem(key);
  }
}
