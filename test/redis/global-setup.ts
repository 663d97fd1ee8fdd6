/*
 * Jest globalSetup of the 'redis' project: starts one standalone redis-server and one 3-master
 * Redis Cluster on free loopback ports, shared by the test files of this project, and passes
 * their ports to the workers through the environment (ERT_REDIS_PORT, ERT_CLUSTER_PORTS).
 * global-teardown.ts stops them. Tests that break a server start a private one (servers.ts).
 */
// Extensionless: Jest loads globalSetup with a plain require(), without moduleNameMapper.
import { RedisCluster, RedisServer } from './servers';

export interface SharedRedisServers {
  standalone?: RedisServer;
  cluster?: RedisCluster;
}

declare global {
  // Shared between globalSetup and globalTeardown, which Jest runs in the same process.
  var __ertRedisServers: SharedRedisServers | undefined;
}

export default async function globalSetup(): Promise<void> {
  const shared: SharedRedisServers = {};
  globalThis.__ertRedisServers = shared;
  // If Jest dies without running the teardown, do not leave servers behind.
  process.once('exit', () => {
    for (const server of [shared.standalone, ...(shared.cluster?.servers ?? [])]) {
      if (server?.pid) {
        try {
          process.kill(server.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
  const [standalone, cluster] = await Promise.allSettled([RedisServer.start(), RedisCluster.start(3)]);
  if (standalone.status === 'fulfilled') shared.standalone = standalone.value;
  if (cluster.status === 'fulfilled') shared.cluster = cluster.value;
  const failed = [standalone, cluster].find((result) => result.status === 'rejected');
  if (failed) {
    await shared.standalone?.stop();
    await shared.cluster?.stop();
    globalThis.__ertRedisServers = undefined;
    throw failed.reason;
  }
  process.env.ERT_REDIS_PORT = String(shared.standalone!.port);
  process.env.ERT_CLUSTER_PORTS = shared.cluster!.ports.join(',');
}
