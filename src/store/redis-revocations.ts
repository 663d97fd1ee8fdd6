import { performance } from 'node:perf_hooks';
import type { RedisClient } from './redis.js';
import type { RevocationEvent, RevocationFeed, RevocationListener } from './types.js';

/*
 * The Redis store's revocation feed (README "Revocation checks from memory").
 *
 * Every revoking script PUBLISHes what it revoked in the same atomic step (redis-scripts.ts). This
 * feed holds one subscriber connection to EVERY master, standalone or Cluster, rather than one
 * connection that relies on the Cluster bus to forward other nodes' messages: what a node
 * publishes then reaches us on one TCP connection of our own, in the order the node ran the
 * scripts, and the only way to lose a message is to lose that connection, which we see.
 * (A link of the Cluster bus can drop and reconnect without any client noticing.)
 *
 * Being current is proven, not assumed: every HEARTBEAT_MS each connection sends a PING, which a
 * subscribed connection answers in line with its messages. When the answer to a PING sent at time
 * T arrives, every message the node published before it ran that PING has arrived too: the node
 * is current as of T. The feed is current as of the oldest such T over all masters; the guard
 * refuses to trust it once that is older than `maxStalenessMs`. A paused or unreachable server
 * answers no PING, so the view goes stale by itself, with no timeout to tune.
 *
 * The epoch changes whenever a message may have been lost: a subscriber connection closed, or a
 * new master (a fail-over, a resharding) was subscribed. What the guard learned from the store
 * under an older epoch is then forgotten (see tokens/revocation-view.ts).
 */

/** How often each subscriber connection proves it is current. */
const HEARTBEAT_MS = 100;

/** The ioredis surface the feed uses, on a `Redis` (standalone or a Cluster's node) or a `Cluster`. */
interface Connection {
  duplicate(override?: Record<string, unknown>): Connection;
  connect(): Promise<void>;
  disconnect(reconnect?: boolean): void;
  subscribe(channel: string): Promise<unknown>;
  ping(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  options?: { host?: string; port?: number };
  isCluster?: boolean;
  nodes?(role: 'master'): Connection[];
}

/** Settings of a subscriber connection: it waits for nothing queued, resubscribes itself. */
const SUBSCRIBER_OPTIONS = {
  lazyConnect: true,
  enableOfflineQueue: false,
  autoResubscribe: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 1500,
  // A subscriber sees traffic every HEARTBEAT_MS: a silent socket is a dead one.
  socketTimeout: 5000,
  connectTimeout: 2000,
  retryStrategy: (times: number): number => Math.min(50 * 2 ** (times - 1), 1000),
  keyPrefix: undefined,
  readOnly: false,
};

class NodeSubscriber {
  readonly connection: Connection;
  /** Subscribed on the current connection, with no close since. */
  subscribed = false;
  /** A `performance.now()` time before which everything the node published has arrived. */
  currentAsOf = -Infinity;
  private pinging = false;
  private generation = 0;

  constructor(source: Connection, channel: string, onMessage: (message: string) => void, onLost: () => void, onSubscribed: () => void) {
    this.connection = source.duplicate(SUBSCRIBER_OPTIONS);
    this.connection.on('error', () => undefined); // reported as a lost subscription
    this.connection.on('message', (_channel, message) => onMessage(String(message)));
    this.connection.on('close', () => {
      this.generation++;
      if (this.subscribed) {
        this.subscribed = false;
        onLost();
      }
    });
    this.connection.on('ready', () => {
      const generation = ++this.generation;
      const sent = performance.now();
      this.connection.subscribe(channel).then(
        () => {
          if (generation !== this.generation) return;
          this.subscribed = true;
          this.currentAsOf = sent;
          onSubscribed();
        },
        () => this.connection.disconnect(true), // try again on a fresh connection
      );
    });
    this.connection.connect().catch(() => undefined); // retried by retryStrategy
  }

  heartbeat(): void {
    if (!this.subscribed || this.pinging) return;
    this.pinging = true;
    const sent = performance.now();
    const generation = this.generation;
    this.connection
      .ping()
      .then(() => {
        if (generation === this.generation) this.currentAsOf = Math.max(this.currentAsOf, sent);
      })
      .catch(() => undefined)
      .finally(() => (this.pinging = false));
  }

  close(): void {
    this.generation++;
    this.subscribed = false;
    this.connection.disconnect();
  }
}

export class RedisRevocationFeed implements RevocationFeed {
  private readonly listeners = new Set<RevocationListener>();
  private readonly nodes = new Map<string, NodeSubscriber>();
  private readonly source: Connection;
  private readonly timer: NodeJS.Timeout;
  private epoch = 1;

  constructor(
    client: RedisClient,
    private readonly channel: string,
  ) {
    this.source = client as unknown as Connection;
    this.syncNodes();
    this.timer = setInterval(() => {
      this.syncNodes();
      for (const node of this.nodes.values()) node.heartbeat();
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  listen(listener: RevocationListener): void {
    this.listeners.add(listener);
  }

  state(): { epoch: number; currentAsOf: number } | undefined {
    if (this.nodes.size === 0) return undefined;
    let currentAsOf = Infinity;
    for (const node of this.nodes.values()) {
      if (!node.subscribed) return undefined;
      if (node.currentAsOf < currentAsOf) currentAsOf = node.currentAsOf;
    }
    return { epoch: this.epoch, currentAsOf };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const node of this.nodes.values()) node.close();
    this.nodes.clear();
    this.listeners.clear();
  }

  /** One subscriber per master the client knows now (a Cluster's masters change on fail-over). */
  private syncNodes(): void {
    const masters = this.source.isCluster ? (this.source.nodes?.('master') ?? []) : [this.source];
    const seen = new Set<string>();
    for (const master of masters) {
      const key = `${master.options?.host}:${master.options?.port}`;
      seen.add(key);
      if (this.nodes.has(key)) continue;
      const node = new NodeSubscriber(
        master,
        this.channel,
        (message) => this.deliver(message),
        () => this.epoch++,
        // A new subscription starts an epoch: what it publishes from now on arrives, what it
        // published before may not have.
        () => this.epoch++,
      );
      this.nodes.set(key, node);
    }
    // A master that left (fail-over, resharding) has no slots to publish for any more.
    for (const [key, node] of this.nodes) {
      if (!seen.has(key) && masters.length > 0) {
        node.close();
        this.nodes.delete(key);
      }
    }
  }

  private deliver(message: string): void {
    const event = parse(message);
    if (!event) return;
    for (const listener of this.listeners) listener(event);
  }
}

/** `f <familyId> ...` or `t <jti> <expiresAt>`, as the scripts publish them. */
function parse(message: string): RevocationEvent | undefined {
  const parts = message.split(' ');
  if (parts[0] === 'f' && parts.length > 1) return { kind: 'families', familyIds: parts.slice(1) };
  if (parts[0] === 't' && parts.length === 3) {
    const expiresAt = Number(parts[2]);
    if (Number.isFinite(expiresAt)) return { kind: 'token', jti: parts[1]!, expiresAt };
  }
  return undefined;
}
