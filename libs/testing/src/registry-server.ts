import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

const REGISTRY_BINARY = '/usr/bin/docker-registry';
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3_000;

export interface StartRegistryOptions {
  /** Notifications endpoint (Distribution posts one event per envelope). */
  notifyUrl?: string;
  /** Sent as `Authorization: Bearer <token>` with every notification. */
  notifyToken?: string;
  /** Turns on htpasswd auth with this single user. */
  htpasswd?: { username: string; password: string };
}

export interface TestRegistry {
  /** http://127.0.0.1:<port>, no trailing slash. */
  url: string;
  /** 127.0.0.1:<port>, as used in image references. */
  host: string;
  /** Temp dir holding the config and the storage; removed by stop(). */
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's Distribution 2.8.2 on a free loopback port with filesystem storage in a fresh
 * temp dir. Each test file starts its own; stop() kills the process and removes the dir.
 */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  try {
    await access(REGISTRY_BINARY, constants.X_OK);
  } catch {
    throw new Error(
      `${REGISTRY_BINARY} not found: install Debian's docker-registry package to run registry tests`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'refgraph-registry-'));
  try {
    // A free port can be taken between probing and binding; a second attempt on a new port covers that.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configPath = await writeConfig(dir, port, opts);
      try {
        return await launch(dir, configPath, port);
      } catch (err) {
        if (attempt >= 3 || !(err instanceof PortInUseError)) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

class PortInUseError extends Error {}

async function writeConfig(dir: string, port: number, opts: StartRegistryOptions): Promise<string> {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: join(dir, 'data') },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
  };
  if (opts.htpasswd) {
    const path = join(dir, 'htpasswd');
    await writeFile(path, `${opts.htpasswd.username}:${await bcryptHash(opts.htpasswd.password)}\n`);
    config.auth = { htpasswd: { realm: 'refgraph-test', path } };
  }
  if (opts.notifyUrl) {
    config.notifications = {
      endpoints: [
        {
          name: 'refgraph',
          url: opts.notifyUrl,
          headers: opts.notifyToken ? { Authorization: [`Bearer ${opts.notifyToken}`] } : {},
          timeout: '2s',
          threshold: 3,
          backoff: '100ms',
          ignoredmediatypes: [],
        },
      ],
    };
  }
  const path = join(dir, 'config.yml');
  await writeFile(path, stringify(config));
  return path;
}

async function launch(dir: string, configPath: string, port: number): Promise<TestRegistry> {
  const child = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', (err) => {
    stderr += String(err);
  });
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const ready = await Promise.race([waitForV2(url), exited.then(() => 'exited' as const)]);
  if (ready !== true) {
    await kill(child, exited);
    if (/address already in use/i.test(stderr)) throw new PortInUseError(stderr);
    throw new Error(
      `docker-registry did not come up on ${host} (${ready === 'exited' ? 'process exited' : 'timed out'}): ${stderr.trim()}`,
    );
  }
  let stopped: Promise<void> | undefined;
  return {
    url,
    host,
    dir,
    stop: () =>
      (stopped ??= (async () => {
        await kill(child, exited);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/** Any HTTP answer from /v2/ (200, or 401 with auth on) means the registry is serving. */
async function waitForV2(url: string): Promise<true | 'timeout'> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return 'timeout';
}

async function kill(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A bcrypt hash (the only scheme Distribution's htpasswd accepts), made with the system crypt(3)
 * through Perl, as neither apache2-utils' htpasswd nor a bcrypt npm package is available.
 */
export async function bcryptHash(password: string, cost = 10): Promise<string> {
  const raw = randomBytes(22);
  // The last salt character carries only 2 bits; one with the low 4 bits clear keeps it canonical.
  const salt =
    Array.from(raw.subarray(0, 21), (b) => BCRYPT_ALPHABET[b % 64]).join('') + '.Oeu'[raw[21]! % 4];
  const setting = `$2b$${String(cost).padStart(2, '0')}$${salt}`;
  const { stdout } = await promisify(execFile)(
    'perl',
    ['-e', 'my $h = crypt($ENV{PW}, $ENV{SETTING}); defined $h or exit 1; print $h'],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PW: password, SETTING: setting } },
  ).catch((err: unknown) => {
    throw new Error(`cannot make a bcrypt hash with perl crypt(3): ${String(err)}`);
  });
  if (!stdout.startsWith('$2b$') || stdout.length !== 60) {
    throw new Error(
      `the system crypt(3) does not support bcrypt (got ${JSON.stringify(stdout.slice(0, 7))})`,
    );
  }
  return stdout;
}
