import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import yaml from 'js-yaml';
import { schema } from './schema';

convict.addParser({ extension: ['yml', 'yaml'], parse: (text: string) => yaml.load(text) });

/**
 * How the instance keeps its data and reaches the others: `embedded` (neither MYSQL_URL nor REDIS_URL set)
 * keeps everything in SQLite under `dataDir` in one process; `distributed` (both set) uses MySQL/MariaDB,
 * Redis and optionally MongoDB, and runs as many workers and instances as wanted.
 */
export type RunningMode = 'embedded' | 'distributed';

/** The validated, frozen settings (see schema.ts for what each key means). */
export interface Config {
  env: 'production' | 'development' | 'test';
  /** Derived from `mysql.url` and `redis.url`; not a setting of its own. */
  mode: RunningMode;
  dataDir: string;
  server: {
    host: string;
    port: number;
    workers: number;
    bodyLimit: string;
    trustProxy: number;
    shutdownTimeoutMs: number;
    restartDelayMs: number;
    maxStartFailures: number;
  };
  mysql: { url: string; poolSize: number };
  redis: { url: string; prefix: string; commandTimeoutMs: number };
  mongodb: { uri: string };
  auth: {
    jwtSecret: string;
    tokenTtlSeconds: number;
    loginFailuresBeforeCaptcha: number;
    loginFailureWindowSeconds: number;
  };
  captcha: { enabled: boolean; ttlSeconds: number };
  rateLimit: {
    loginPerMinute: number;
    registerPerMinute: number;
    captchaPerMinute: number;
    messagesPerSecond: number;
    friendRequestsPerMinute: number;
    joinRequestsPerMinute: number;
    groupCreationsPerMinute: number;
    uploadsPerMinute: number;
    profileChangesPerMinute: number;
    typingIntervalSeconds: number;
  };
  cors: { origins: string; maxAgeSeconds: number };
  log: { level: string };
  ws: {
    maxFrameBytes: number;
    framesPerSecond: number;
    maxConnectionsPerUser: number;
    maxBufferedBytes: number;
    pingIntervalSeconds: number;
    accountCheckSeconds: number;
  };
  presence: { ttlSeconds: number };
  groups: { maxMembersLimit: number; defaultMaxMembers: number };
  messages: { recallSeconds: number };
  world: { enabled: boolean };
  federation: {
    enabled: boolean;
    domain: string;
    publicUrl: string;
    mode: 'allowlist' | 'open';
    peers: string;
    deny: string;
    maxRetryHours: number;
    keyCacheSeconds: number;
    keyRefetchSeconds: number;
    validUntilSeconds: number;
  };
  uploads: UploadsConfig;
}

/** The `uploads` slice: limits, the storage engine and its S3 settings. */
export interface UploadsConfig {
  storage: 'disk' | 's3';
  maxImageBytes: number;
  maxVoiceBytes: number;
  maxVideoBytes: number;
  maxFileBytes: number;
  quotaBytes: number;
  orphanTtlSeconds: number;
  sweepIntervalSeconds: number;
  publicBaseUrl: string;
  s3: {
    endpoint: string;
    bucket: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: boolean;
    prefix: string;
  };
}

/** Thrown when a setting is invalid; the message is one line naming the key. */
export class ConfigError extends Error {}

/**
 * Loads config/default.yaml, then config/<NODE_ENV>.yaml when present, then the environment,
 * then `overrides`; validates and freezes the result.
 */
export function loadConfig(
  options: { env?: NodeJS.ProcessEnv; dir?: string; overrides?: DeepPartial<Config> } = {},
): Config {
  const env = options.env ?? process.env;
  const dir = options.dir ?? path.resolve(__dirname, '../../config');
  const cfg = convict<Config>(schema as unknown as convict.Schema<Config>, {
    env: env as Record<string, string>,
    args: [],
  });
  const files = [path.join(dir, 'default.yaml')];
  const nodeEnv = env.NODE_ENV;
  if (nodeEnv && /^[a-z]+$/.test(nodeEnv)) files.push(path.join(dir, `${nodeEnv}.yaml`));
  const present = files.filter((f) => fs.existsSync(f));
  try {
    if (present.length) cfg.loadFile(present);
    // set() rather than load(): convict lets the environment win over load(), but overrides come last.
    // `mode` is derived below, so a whole Config given back as overrides (a child process's) loads too.
    const { mode: _derived, ...overrides } = options.overrides ?? {};
    for (const [key, value] of leaves(overrides)) cfg.set(key, value);
    cfg.validate({ allowed: 'strict' });
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${withEnvName(firstLine((err as Error).message))}`);
  }
  const props = { ...cfg.getProperties(), mode: 'embedded' as RunningMode };
  const fail = (key: string, problem: string): never => {
    throw new ConfigError(`invalid configuration: ${withEnvName(`${key}: ${problem}`)}`);
  };
  if (props.env === 'production' && props.auth.jwtSecret && props.auth.jwtSecret.length < 32) {
    fail('auth.jwtSecret', 'must be at least 32 characters in production (or unset)');
  }
  props.mode = runningMode(props.mysql.url, props.redis.url);
  if (props.mode === 'embedded' && props.server.workers > 1) {
    fail(
      'server.workers',
      'must be 0 or 1 in embedded mode: one process owns the SQLite files and delivers pushes in memory (set MYSQL_URL and REDIS_URL for more workers)',
    );
  }
  if (props.mysql.url && !/^\/?[A-Za-z0-9_]{0,64}$/.test(new URL(props.mysql.url).pathname)) {
    fail('mysql.url', 'the database name may contain only letters, digits and _');
  }
  if (props.rateLimit.registerPerMinute < 30) fail('rateLimit.registerPerMinute', 'must be at least 30');
  if (props.groups.defaultMaxMembers < 2 || props.groups.defaultMaxMembers > props.groups.maxMembersLimit) {
    fail('groups.defaultMaxMembers', 'must be between 2 and groups.maxMembersLimit');
  }
  if (props.federation.enabled) {
    if (props.mode === 'embedded') {
      fail(
        'federation.enabled',
        'federation runs in the distributed mode only for now (set MYSQL_URL and REDIS_URL, or leave FEDERATION_ENABLED unset)',
      );
    }
    if (!props.federation.domain) fail('federation.domain', 'must be set when federation is enabled');
    if (!props.federation.publicUrl) fail('federation.publicUrl', 'must be set when federation is enabled');
  }
  if (props.federation.keyCacheSeconds > 7 * 86400)
    fail('federation.keyCacheSeconds', 'must be at most 7 days');
  if (props.uploads.storage === 's3' && !props.uploads.s3.bucket) {
    fail('uploads.s3.bucket', 'must be set when uploads.storage is s3');
  }
  return deepFreeze(props);
}

/** Neither URL: embedded; both: distributed; only one: refused, naming the missing one. */
function runningMode(mysqlUrl: string, redisUrl: string): RunningMode {
  if (mysqlUrl && redisUrl) return 'distributed';
  if (!mysqlUrl && !redisUrl) return 'embedded';
  const [set, missing] = mysqlUrl ? ['MYSQL_URL', 'REDIS_URL'] : ['REDIS_URL', 'MYSQL_URL'];
  throw new ConfigError(
    `invalid configuration: ${missing} must be set too: ${set} alone is refused (set both for the distributed mode, neither for the embedded mode)`,
  );
}

function leaves(obj: object, prefix = ''): Array<[string, unknown]> {
  return Object.entries(obj).flatMap(([k, v]): Array<[string, unknown]> =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? leaves(v as object, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v]],
  );
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

/** `mysql.url: problem` → `mysql.url (MYSQL_URL): problem`, so the operator sees which variable to fix. */
function withEnvName(message: string): string {
  const m = /^([\w.]+): ([\s\S]*)$/.exec(message);
  if (!m) return message;
  let node: unknown = schema;
  for (const part of m[1].split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  const env = (node as { env?: unknown } | undefined)?.env;
  return typeof env === 'string' ? `${m[1]} (${env}): ${m[2]}` : message;
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object') {
    for (const value of Object.values(obj)) deepFreeze(value);
    Object.freeze(obj);
  }
  return obj;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** How many server processes run: one in the embedded mode; `server.workers`, or one per CPU when 0, otherwise. */
export function workerCount(config: Config): number {
  return config.mode === 'embedded' ? 1 : config.server.workers || os.availableParallelism();
}
