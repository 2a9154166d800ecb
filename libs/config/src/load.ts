import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import {
  configSchema,
  type LimitsConfig,
  type ReadReplicasConfig,
  type ReadTimeoutsConfig,
  type ParsedConfig,
  type RegistryKind,
} from './schema.js';

/** Webhook auth with its secret resolved from the environment. */
export type WebhookAuth =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string }
  | { type: 'hmac-sha256'; secret: string };

export type RegistryCredentials =
  { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

export interface RegistryConfig {
  name: string;
  kind: RegistryKind;
  url: string;
  credentials?: RegistryCredentials;
  webhookAuth: WebhookAuth;
  allowedRedirectHosts: string[];
  allowedTokenRealms: string[];
  /** Listed realms may resolve to loopback, private or link-local addresses; default false. */
  allowPrivateTokenRealms?: boolean;
  maxManifestBytes: number;
  /** Jobs fetching from this registry at once per process; parseConfig always sets it. */
  concurrency?: number;
  /** parseConfig always sets them; absent (hand-built configs), the client's defaults apply. */
  timeouts?: { connectMs: number; firstByteMs: number };
}

export interface RefgraphConfig {
  server: ParsedConfig['server'];
  worker: ParsedConfig['worker'];
  sync: ParsedConfig['sync'];
  trust: ParsedConfig['trust'];
  auth: ParsedConfig['auth'];
  policies: ParsedConfig['policies'];
  /** Absent in hand-built configs: DEFAULT_LIMITS apply. */
  limits?: LimitsConfig;
  registryView: RegistryViewConfig;
  graphql: ParsedConfig['graphql'];
  /** Absent: an embedded Postgres is started under ./.data. */
  databaseUrl?: string;
  /** Absent in hand-built configs: no replicas, every read goes to the primary. */
  readReplicas?: ReadReplicasConfig;
  /** Absent in hand-built configs: DEFAULT_READ_TIMEOUTS apply. */
  reads?: ReadTimeoutsConfig;
  registries: RegistryConfig[];
}

type Env = Record<string, string | undefined>;

/**
 * Where TUF metadata and the last good trusted root are kept when `trust.tuf.cacheDir` is not set:
 * `tuf` beside the embedded Postgres directory (REFGRAPH_DATA_DIR, default .data/postgres), so one
 * data volume holds both.
 */
export function defaultTufCacheDir(env: Env = process.env): string {
  return join(dirname(resolve(env.REFGRAPH_DATA_DIR || '.data/postgres')), 'tuf');
}

/** A registry's fetch budget when its config names none: half of the worker's job slots. */
export function defaultRegistryConcurrency(workerConcurrency: number): number {
  return Math.max(1, Math.floor(workerConcurrency / 2));
}

/** The registry view's settings with the token signing secret resolved from the environment. */
export interface RegistryViewConfig {
  externalUrl?: string;
  /** The token service name: registryView.service, else externalUrl's host, else `refgraph`. */
  service: string;
  tagMaxAgeSeconds: number;
  maxBlobBytes: number;
  tokenTtlSeconds: number;
  /** Absent: a random secret per process (tokens then hold only on the replica that issued them). */
  tokenSecret?: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads REFGRAPH_CONFIG (default refgraph.yaml; a missing default file means no registries). */
export function loadConfig(env: Env = process.env): RefgraphConfig {
  const explicit = env.REFGRAPH_CONFIG;
  const path = explicit ?? 'refgraph.yaml';
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (explicit || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
  }
  let raw: unknown = {};
  if (text !== undefined) {
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`${path}: invalid YAML: ${(err as Error).message}`);
    }
  }
  return parseConfig(raw, env, path);
}

/** Validates a config object and resolves every secret reference, naming the bad field on error. */
export function parseConfig(raw: unknown, env: Env = process.env, source = 'config'): RefgraphConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`${source}: ${formatIssues(result.error)}`);
  const cfg = result.data;
  const problems: string[] = [];
  const secret = (name: string, field: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${field}: environment variable ${name} is not set`);
      return '';
    }
    return value;
  };

  const registries = cfg.registries.map((r, i): RegistryConfig => {
    const at = `registries[${i}] (${r.name})`;
    const a = r.webhook.auth;
    let webhookAuth: WebhookAuth;
    switch (a.type) {
      case 'none':
        webhookAuth = a;
        break;
      case 'bearer':
        webhookAuth = { type: 'bearer', token: secret(a.tokenEnv, `${at}.webhook.auth.tokenEnv`) };
        break;
      case 'basic':
        webhookAuth = {
          type: 'basic',
          username: a.username,
          password: secret(a.passwordEnv, `${at}.webhook.auth.passwordEnv`),
        };
        break;
      case 'header':
        webhookAuth = {
          type: 'header',
          name: a.name,
          value: secret(a.valueEnv, `${at}.webhook.auth.valueEnv`),
        };
        break;
      case 'hmac-sha256':
        webhookAuth = { type: 'hmac-sha256', secret: secret(a.secretEnv, `${at}.webhook.auth.secretEnv`) };
        break;
    }
    let credentials: RegistryCredentials | undefined;
    const c = r.credentials;
    if (c && 'tokenEnv' in c) {
      credentials = { type: 'bearer', token: secret(c.tokenEnv, `${at}.credentials.tokenEnv`) };
    } else if (c) {
      credentials = {
        type: 'basic',
        username: c.username,
        password: secret(c.passwordEnv, `${at}.credentials.passwordEnv`),
      };
    }
    return {
      name: r.name,
      kind: r.kind,
      url: r.url,
      credentials,
      webhookAuth,
      allowedRedirectHosts: r.allowedRedirectHosts,
      allowedTokenRealms: r.allowedTokenRealms,
      allowPrivateTokenRealms: r.allowPrivateTokenRealms,
      maxManifestBytes: r.maxManifestBytes,
      concurrency: r.concurrency ?? defaultRegistryConcurrency(cfg.worker.concurrency),
      timeouts: r.timeouts,
    };
  });

  const server = { ...cfg.server };
  if (env.PORT !== undefined) {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      problems.push(`PORT: "${env.PORT}" is not a port number`);
    else server.port = port;
  }
  const worker = { ...cfg.worker };
  if (env.WORKER_PORT !== undefined) {
    const port = Number(env.WORKER_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      problems.push(`WORKER_PORT: "${env.WORKER_PORT}" is not a port number`);
    else worker.port = port;
  }
  if (env.LOG_LEVEL) {
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
    const level = levels.find((l) => l === env.LOG_LEVEL);
    if (!level) problems.push(`LOG_LEVEL: "${env.LOG_LEVEL}" is not one of ${levels.join(', ')}`);
    else server.logLevel = level;
  }
  const { tokenSecretEnv, ...view } = cfg.registryView;
  const registryView: RegistryViewConfig = {
    ...view,
    service: view.service ?? (view.externalUrl ? new URL(view.externalUrl).host : 'refgraph'),
  };
  if (tokenSecretEnv !== undefined) {
    const value = secret(tokenSecretEnv, 'registryView.tokenSecretEnv');
    if (value && Buffer.byteLength(value) < 32)
      problems.push(`registryView.tokenSecretEnv: ${tokenSecretEnv} must hold at least 32 bytes`);
    registryView.tokenSecret = value;
  }
  const urls = readUrls(env.DATABASE_READ_URLS, cfg.database.readReplicas.urls, problems);
  if (problems.length) throw new ConfigError(`${source}: ${problems.join('; ')}`);
  return {
    server,
    worker,
    sync: cfg.sync,
    trust: cfg.trust.tuf
      ? {
          ...cfg.trust,
          tuf: { ...cfg.trust.tuf, cacheDir: cfg.trust.tuf.cacheDir ?? defaultTufCacheDir(env) },
        }
      : cfg.trust,
    auth: cfg.auth,
    policies: cfg.policies,
    limits: cfg.limits,
    registryView,
    graphql: cfg.graphql,
    databaseUrl: env.DATABASE_URL || undefined,
    readReplicas: {
      ...cfg.database.readReplicas,
      urls,
    },
    reads: cfg.database.reads,
    registries,
  };
}

/** DATABASE_READ_URLS (comma-separated) replaces the file's list when set. */
function readUrls(fromEnv: string | undefined, fromFile: string[], problems: string[]): string[] {
  if (!fromEnv?.trim()) return fromFile;
  const urls = fromEnv
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const u of urls)
    if (!/^postgres(ql)?:\/\//.test(u))
      problems.push('DATABASE_READ_URLS: every entry must be a postgres:// URL');
  return urls;
}

function formatIssues(error: ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
