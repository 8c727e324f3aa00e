import fs from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import yaml from 'js-yaml';
import { schema } from './schema';

convict.addParser({ extension: ['yml', 'yaml'], parse: (text: string) => yaml.load(text) });

const DEFAULT_JWT_SECRET = 'dev-secret-change-me';

/** The validated, frozen settings (see schema.ts for what each key means). */
export interface Config {
  env: 'production' | 'development' | 'test';
  server: {
    host: string;
    port: number;
    workers: number;
    bodyLimit: string;
    trustProxy: number;
    shutdownTimeoutMs: number;
  };
  mysql: { url: string; poolSize: number };
  redis: { url: string; prefix: string };
  mongodb: { uri: string };
  auth: {
    jwtSecret: string;
    tokenTtlSeconds: number;
    loginFailuresBeforeCaptcha: number;
    loginFailureWindowSeconds: number;
  };
  captcha: { enabled: boolean; ttlSeconds: number };
  rateLimit: { loginPerMinute: number; registerPerMinute: number; captchaPerMinute: number };
  log: { level: string };
  ws: {
    maxFrameBytes: number;
    framesPerSecond: number;
    maxConnectionsPerUser: number;
    maxBufferedBytes: number;
    pingIntervalSeconds: number;
  };
  presence: { ttlSeconds: number };
  groups: { maxMembersLimit: number; defaultMaxMembers: number };
  messages: { recallSeconds: number };
  world: { enabled: boolean };
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
    if (options.overrides) cfg.load(options.overrides as Partial<Config>);
    cfg.validate({ allowed: 'strict' });
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${firstLine((err as Error).message)}`);
  }
  const props = cfg.getProperties();
  if (props.env === 'production') {
    if (props.auth.jwtSecret === DEFAULT_JWT_SECRET || props.auth.jwtSecret.length < 32) {
      throw new ConfigError(
        'invalid configuration: auth.jwtSecret: JWT_SECRET must be set to at least 32 characters in production',
      );
    }
  }
  if (props.rateLimit.registerPerMinute < 30) {
    throw new ConfigError('invalid configuration: rateLimit.registerPerMinute: must be at least 30');
  }
  if (props.groups.defaultMaxMembers < 2 || props.groups.defaultMaxMembers > props.groups.maxMembersLimit) {
    throw new ConfigError(
      'invalid configuration: groups.defaultMaxMembers: must be between 2 and groups.maxMembersLimit',
    );
  }
  return deepFreeze(props);
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object') {
    for (const value of Object.values(obj)) deepFreeze(value);
    Object.freeze(obj);
  }
  return obj;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
