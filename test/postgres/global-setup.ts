/*
 * Jest globalSetup of the 'postgres' project: starts one private PostgreSQL server (server.ts)
 * shared by the test files of this project and passes its port to the workers in ERT_PG_PORT.
 * global-teardown.ts stops it. The outage test starts a server of its own.
 */
// Extensionless: Jest loads globalSetup with a plain require(), without moduleNameMapper.
import { PostgresServer } from './server';

declare global {
  // Shared between globalSetup and globalTeardown, which Jest runs in the same process.
  var __ertPostgresServer: PostgresServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const server = await PostgresServer.start();
  globalThis.__ertPostgresServer = server;
  // If Jest dies without running the teardown, do not leave the server behind.
  process.once('exit', () => {
    try {
      if (server.pid) process.kill(server.pid, 'SIGQUIT'); // immediate shutdown
    } catch {
      // already gone
    }
  });
  process.env.ERT_PG_PORT = String(server.port);
}
