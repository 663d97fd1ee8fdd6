/*
 * Private PostgreSQL servers for the PostgreSQL tests: `initdb` in a new temp folder, then the
 * `postgres` server as a child process on a free 127.0.0.1 port, with no Unix socket, so the
 * machine's own server (5432) and its data are never touched. PostgreSQL refuses to run as root:
 * when the tests run as root, initdb and the server run as the `postgres` user (Debian's package
 * creates it), which then owns the temp folder. Only whoever started a server stops it.
 */
// Extensionless: Jest loads globalSetup with a plain require(), without moduleNameMapper.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, waitUntil } from '../redis/servers';

const INSTALL_HINT = "install Debian's postgresql (apt-get install -y postgresql) or set ERT_PG_BIN to the folder of initdb and postgres";

/** The folder holding `initdb` and `postgres`: ERT_PG_BIN, the newest /usr/lib/postgresql/N/bin, or PATH. */
export function postgresBinDir(): string {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  if (process.env.ERT_PG_BIN) {
    if (has(process.env.ERT_PG_BIN)) return process.env.ERT_PG_BIN;
    throw oneLine(`ERT_PG_BIN=${process.env.ERT_PG_BIN} holds no initdb and postgres: ${INSTALL_HINT}`);
  }
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian)
    ? readdirSync(debian)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const dir of [...versions.map((v) => join(debian, v, 'bin')), ...(process.env.PATH ?? '').split(':')]) {
    if (dir && has(dir)) return dir;
  }
  throw oneLine(`PostgreSQL server binaries (initdb, postgres) not found: ${INSTALL_HINT}`);
}

/** An error Jest prints as its message alone, without a stack trace. */
function oneLine(message: string): Error {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/** The uid and gid to run PostgreSQL as: ours, or the `postgres` user's when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw oneLine(
      "the tests run as root, and PostgreSQL refuses root: create a 'postgres' user (Debian's postgresql package does) and run them again",
    );
  }
}

/** Connection settings of a server (superuser `postgres`, trust authentication on loopback only). */
export function connection(port: number): { host: string; port: number; user: string; database: string } {
  return { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
}

export interface PostgresServerOptions {
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
}

/** One PostgreSQL server this test run started, in its own temp folder. */
export class PostgresServer {
  readonly port: number;
  readonly dir: string;
  private readonly bin: string;
  private readonly user: { uid: number; gid: number } | undefined;
  private readonly settings: Record<string, string>;
  private child: ChildProcess | undefined;
  private paused = false;

  private constructor(
    port: number,
    dir: string,
    bin: string,
    user: { uid: number; gid: number } | undefined,
    settings: Record<string, string>,
  ) {
    this.port = port;
    this.dir = dir;
    this.bin = bin;
    this.user = user;
    this.settings = settings;
  }

  /** initdb, then starts the server and waits until it answers a query. */
  static async start(options: PostgresServerOptions = {}): Promise<PostgresServer> {
    const bin = postgresBinDir();
    const user = serverUser();
    const dir = mkdtempSync(join(tmpdir(), 'ert-pg-'));
    if (user) chownSync(dir, user.uid, user.gid);
    const server = new PostgresServer(await freePort(), dir, bin, user, options.settings ?? {});
    try {
      const init = spawnSync(
        join(bin, 'initdb'),
        ['-D', server.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
        {
          encoding: 'utf8',
          ...user,
        },
      );
      if (init.status !== 0) throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}): ${init.stderr}`);
      await server.launch();
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private get logFile(): string {
    return join(this.dir, 'postgres.log');
  }

  /** Fast shutdown (SIGINT: connections are closed, nothing is lost), waiting for the exit. */
  async halt(): Promise<void> {
    if (this.paused) this.resume();
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.ref();
      child.kill('SIGINT');
      await exited;
    }
  }

  /** SIGSTOP to the server and every backend: it hangs, its TCP connections stay open. */
  pause(): void {
    this.signalAll('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT. */
  resume(): void {
    this.signalAll('SIGCONT');
    this.paused = false;
  }

  /** The postmaster and its children (each backend is its own session, so no process group holds them all). */
  private signalAll(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    const children = readdirSync('/proc').filter((entry) => {
      if (!/^\d+$/.test(entry)) return false;
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid ...", and comm may hold spaces.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // exited meanwhile
      }
    });
    for (const target of [pid, ...children.map(Number)]) process.kill(target, signal);
  }

  /** Starts the halted server again, on the same port and data. */
  async restart(): Promise<void> {
    await this.halt();
    await this.launch();
  }

  /** Halts the server and deletes its folder. */
  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const settings = {
      listen_addresses: '127.0.0.1',
      port: String(this.port),
      unix_socket_directories: '',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '200',
      shared_buffers: '32MB',
      ...this.settings,
    };
    const log = openSync(this.logFile, 'a');
    const args = ['-D', this.dataDir, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
    const child = spawn(join(this.bin, 'postgres'), args, { stdio: ['ignore', log, log], ...this.user });
    closeSync(log);
    child.unref();
    this.child = child;
    let exit: string | undefined;
    child.once('exit', (code, signal) => (exit = `exited with ${signal ?? code}`));
    child.once('error', (error) => (exit = error.message));
    try {
      await waitUntil(
        `postgres on 127.0.0.1:${this.port} did not answer`,
        async () => {
          if (exit) throw new Error(`postgres ${exit}; log: ${this.tail()}`);
          const client = new Client({ ...connection(this.port), connectionTimeoutMillis: 1000 });
          client.on('error', () => undefined);
          try {
            await client.connect();
            await client.query('SELECT 1');
            return true;
          } finally {
            await client.end().catch(() => undefined);
          }
        },
        30_000,
      );
    } catch (error) {
      await this.halt();
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
