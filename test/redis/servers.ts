/*
 * Real redis-server processes for the Redis tests: the shared servers of global-setup.ts, and
 * private servers that a fault test may stop, pause and restart without disturbing other files.
 * Servers listen on 127.0.0.1 on free ports (never 6379) and are only ever stopped by whoever
 * started them. No ioredis here: a tiny RESP client over node:net is enough to wait for them.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const START_TIMEOUT_MS = 10_000;
const POLL_MS = 50;

/** Throws the install hint when `command` (redis-server, redis-cli) is not on PATH. */
export function assertInstalled(command: 'redis-server' | 'redis-cli'): void {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${command} not found: install it with 'apt-get install -y redis-server' (Debian) and run the tests again`);
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). `busPortFree`: port + 10000 too. */
export async function freePort(options: { busPortFree?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindAndRelease(0);
    if (port === 6379) continue;
    if (!options.busPortFree) return port;
    if (port + 10_000 <= 65_535 && (await bindAndRelease(port + 10_000).catch(() => 0)) !== 0) return port;
  }
  throw new Error('could not find a free port on 127.0.0.1');
}

function bindAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Sends one command and returns its reply (simple string, integer or bulk string as text; an
 * error reply rejects). Enough for PING, CLUSTER INFO and the like.
 */
export function rawCommand(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = Buffer.alloc(0);
    const done = (error: Error | null, reply?: string) => {
      socket.destroy();
      if (error) reject(error);
      else resolve(reply!);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no reply from 127.0.0.1:${port} within ${timeoutMs} ms`)));
    socket.once('error', (error) => done(error));
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const lineEnd = buffer.indexOf('\r\n');
      if (lineEnd < 0) return;
      const type = String.fromCharCode(buffer[0]!);
      const line = buffer.subarray(1, lineEnd).toString();
      if (type === '-') return done(new Error(line));
      if (type === '+' || type === ':') return done(null, line);
      if (type === '$') {
        const length = Number(line);
        if (buffer.length >= lineEnd + 2 + length + 2) done(null, buffer.subarray(lineEnd + 2, lineEnd + 2 + length).toString());
        return;
      }
      done(new Error(`unexpected reply type ${type}`));
    });
  });
}

/** One node as a line of CLUSTER NODES gives it: id, port, flags, its master's id ('-' for a master) and slot ranges. */
export interface ClusterNode {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  ranges: string[];
  line: string;
}

/** The cluster as the node on `port` sees it. */
export async function clusterNodes(port: number, timeoutMs = 1000): Promise<ClusterNode[]> {
  return (await rawCommand(port, ['CLUSTER', 'NODES'], timeoutMs))
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...ranges] = line.split(' ');
      return { id: id!, port: Number(address!.split(':')[1]!.split('@')[0]), flags: flags!.split(','), masterId: masterId!, ranges, line };
    });
}

/** Polls `check` every 50 ms until it returns true, or throws `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${what}: gave up after ${timeoutMs} ms${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export interface RedisServerOptions {
  /** Default: a free port. */
  port?: number;
  /** Working directory (AOF, cluster config, log). Default: a new temp dir, deleted by `stop()`. */
  dir?: string;
  /** Extra redis-server arguments, e.g. `['--appendonly', 'yes']`. */
  args?: string[];
}

/** One redis-server child process that this test run started, and only it may stop. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  private readonly args: string[];
  private readonly ownsDir: boolean;
  private child: ChildProcess | undefined;
  private paused = false;

  private constructor(port: number, dir: string, ownsDir: boolean, args: string[]) {
    this.port = port;
    this.dir = dir;
    this.ownsDir = ownsDir;
    this.args = args;
  }

  /** Starts a standalone redis-server and waits until it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    assertInstalled('redis-server');
    const port = options.port ?? (await freePort());
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ert-redis-'));
    const server = new RedisServer(port, dir, options.dir === undefined, options.args ?? []);
    await server.launch();
    return server;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logFile(): string {
    return join(this.dir, `redis-${this.port}.log`);
  }

  /** Kills the server (SIGKILL, like a crash) and waits for it to exit. The data dir stays. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.ref(); // keep the event loop alive until the exit is seen
      child.kill('SIGKILL');
      await exited;
    }
    this.paused = false;
  }

  /** Starts the server again on the same port and directory, and waits until it answers. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** SIGSTOP: the process hangs, its TCP connections stay open. */
  pause(): void {
    this.child?.kill('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT. */
  resume(): void {
    this.child?.kill('SIGCONT');
    this.paused = false;
  }

  /** Kills the server and deletes its temp dir when this object created it. */
  async stop(): Promise<void> {
    if (this.paused) this.resume();
    await this.kill();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        this.dir,
        '--logfile',
        this.logFile,
        ...this.args,
      ],
      { stdio: 'ignore' },
    );
    child.unref();
    this.child = child;
    let exit: string | undefined;
    child.once('exit', (code, signal) => (exit = `exited with ${signal ?? code}`));
    child.once('error', (error) => (exit = error.message));
    try {
      await waitUntil(`redis-server on 127.0.0.1:${this.port} did not answer PING`, async () => {
        if (exit) throw new Error(`redis-server ${exit}; log: ${this.tail()}`);
        return (await rawCommand(this.port, ['PING'], 500)) === 'PONG';
      });
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  private tail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      return '(no log)';
    }
  }
}

/** A Redis Cluster of child processes (3 masters by default, optionally with replicas), in one temp dir. */
export class RedisCluster {
  readonly servers: RedisServer[];
  readonly dir: string;

  private constructor(servers: RedisServer[], dir: string) {
    this.servers = servers;
    this.dir = dir;
  }

  get ports(): number[] {
    return this.servers.map((server) => server.port);
  }

  static async start(masters = 3, replicasPerMaster = 0): Promise<RedisCluster> {
    assertInstalled('redis-server');
    assertInstalled('redis-cli');
    const dir = mkdtempSync(join(tmpdir(), 'ert-cluster-'));
    const ports: number[] = [];
    const nodes = masters * (1 + replicasPerMaster);
    while (ports.length < nodes) {
      const port = await freePort({ busPortFree: true });
      if (!ports.includes(port)) ports.push(port);
    }
    const servers: RedisServer[] = [];
    const cluster = new RedisCluster(servers, dir);
    try {
      for (const server of await Promise.all(
        ports.map((port) =>
          RedisServer.start({
            port,
            dir,
            args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'],
          }),
        ),
      )) {
        servers.push(server);
      }
      await execFileText(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...ports.map((port) => `127.0.0.1:${port}`),
          '--cluster-replicas',
          String(replicasPerMaster),
          '--cluster-yes',
        ],
        20_000,
      );
      await waitUntil('the Redis Cluster did not reach cluster_state:ok on every node', async () => {
        for (const port of ports) {
          const info = await rawCommand(port, ['CLUSTER', 'INFO'], 500);
          if (
            !info.includes('cluster_state:ok') ||
            !info.includes(`cluster_known_nodes:${nodes}`) ||
            !info.includes('cluster_slots_ok:16384')
          ) {
            return false;
          }
          // Every node must also know every replica as one: a master that still takes a replica for
          // a master refuses it its vote, and a fail-over would wait for the next election.
          const replicas = (await clusterNodes(port, 500)).filter(
            (node) => node.flags.includes('slave') && !node.flags.some((flag) => flag.startsWith('fail')) && node.masterId !== '-',
          );
          if (replicas.length !== masters * replicasPerMaster) return false;
        }
        return true;
      });
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function execFileText(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
