import convict from 'convict';

// Strict replacements for convict's built-in nat/port/Boolean, which read "1.5" as 1, "80abc" as 80
// and any word but "false" as true: a typo in an environment variable must stop the boot instead.

/** A lowercase DNS name with at least one dot or a port, optionally with :port (peers on one host in tests). */
const DOMAIN =
  /^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/;

convict.addFormat({
  name: 'count',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      throw new Error('must be a whole number (0 or more)');
  },
  coerce: (value: string) => (/^\s*\d+\s*$/.test(value) ? Number(value) : value),
});

convict.addFormat({
  name: 'positive',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      throw new Error('must be a whole number of at least 1');
  },
  coerce: (value: string) => (/^\s*\d+\s*$/.test(value) ? Number(value) : value),
});

convict.addFormat({
  name: 'port-number',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535)
      throw new Error('must be a port number from 0 to 65535');
  },
  coerce: (value: string) => (/^\s*\d+\s*$/.test(value) ? Number(value) : value),
});

convict.addFormat({
  name: 'flag',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error('must be true or false');
  },
  coerce(value: string) {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    return value;
  },
});

convict.addFormat({
  name: 'nonempty-string',
  validate(value: unknown) {
    if (typeof value !== 'string' || value.length === 0) throw new Error('must be a non-empty string');
  },
});

convict.addFormat({
  name: 'optional-url-with-scheme',
  validate(value: unknown, schema: convict.SchemaObj & { schemes?: string[] }) {
    if (value === '') return;
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw new Error('must be a URL, or empty');
    }
    const schemes = schema.schemes ?? [];
    if (schemes.length && !schemes.includes(url.protocol.replace(/:$/, ''))) {
      throw new Error(`must use one of the schemes ${schemes.join(', ')}, or be empty`);
    }
  },
});

convict.addFormat({
  name: 'optional-mongo-uri',
  validate(value: unknown) {
    if (value === '' || value === null || value === undefined) return;
    if (typeof value !== 'string' || !/^mongodb(\+srv)?:\/\/.+/.test(value)) {
      throw new Error('must be a mongodb:// or mongodb+srv:// URI, or empty');
    }
  },
});

convict.addFormat({
  name: 'optional-domain',
  validate(value: unknown) {
    if (value === '') return;
    if (typeof value !== 'string' || !DOMAIN.test(value)) {
      throw new Error(
        'must be a lowercase domain name such as a.example (letters, digits, dots, hyphens, :port)',
      );
    }
  },
});

convict.addFormat({
  name: 'optional-http-url',
  validate(value: unknown) {
    if (value === '') return;
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw new Error('must be an http(s) URL, or empty');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error('must be an http(s) URL, or empty');
  },
});

convict.addFormat({
  name: 'peer-list',
  validate(value: unknown) {
    if (typeof value !== 'string') throw new Error('must be a comma-separated list of domain=baseUrl');
    for (const entry of value
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const eq = entry.indexOf('=');
      const domain = entry.slice(0, eq);
      let ok = eq > 0 && DOMAIN.test(domain);
      try {
        ok = ok && /^https?:$/.test(new URL(entry.slice(eq + 1)).protocol);
      } catch {
        ok = false;
      }
      if (!ok) throw new Error(`"${entry}" is not domain=baseUrl (a lowercase domain and an http(s) URL)`);
    }
  },
});

convict.addFormat({
  name: 'domain-list',
  validate(value: unknown) {
    if (typeof value !== 'string') throw new Error('must be a comma-separated list of domains');
    for (const d of value
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      if (!DOMAIN.test(d)) throw new Error(`"${d}" is not a lowercase domain name`);
    }
  },
});

convict.addFormat({
  name: 'storage-engine',
  validate(value: unknown) {
    if (value !== 'disk' && value !== 's3') throw new Error('must be disk or s3');
  },
});

convict.addFormat({
  name: 'log-level',
  validate(value: unknown) {
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
    if (typeof value !== 'string' || !levels.includes(value))
      throw new Error(`must be one of ${levels.join(', ')}`);
  },
});

/** `scheme://host[:port]` with scheme http(s), optionally `scheme://*.domain` (a browser origin or pattern). */
function isOriginEntry(entry: string): boolean {
  const m = /^(https?):\/\/(\*\.)?([^/?#*]+)$/i.exec(entry);
  if (!m) return false;
  try {
    return new URL(`${m[1]}://${m[3]}`).host === m[3].toLowerCase();
  } catch {
    return false;
  }
}

convict.addFormat({
  name: 'origin-list',
  validate(value: unknown) {
    if (typeof value !== 'string') throw new Error('must be a comma-separated list of origins');
    for (const entry of value.split(',').map((e) => e.trim())) {
      if (entry && entry !== '*' && !isOriginEntry(entry)) {
        throw new Error(
          `"${entry}" is not an origin (scheme://host[:port], https://*.domain for subdomains, or *)`,
        );
      }
    }
  },
});

/** Every setting of the service: its doc, format, default and environment variable. */
export const schema = {
  env: {
    doc: 'Runtime environment; also selects config/<env>.yaml when present.',
    format: ['production', 'development', 'test'],
    default: 'development',
    env: 'NODE_ENV',
  },
  dataDir: {
    doc: "Directory for local data (the embedded mode's SQLite files, uploaded files and their temporary files); created when missing.",
    format: 'nonempty-string',
    default: './data',
    env: 'DATA_DIR',
  },
  server: {
    host: { doc: 'Address the HTTP server binds to.', format: String, default: '0.0.0.0', env: 'HOST' },
    port: {
      doc: 'HTTP and WebSocket port (0 picks a free one).',
      format: 'port-number',
      default: 3000,
      env: 'PORT',
    },
    workers: {
      doc: 'Worker processes started by `npm start`; 0 means one per CPU core (always one in embedded mode).',
      format: 'count',
      default: 0,
      env: 'SERVER_WORKERS',
    },
    bodyLimit: { doc: 'Largest accepted JSON body.', format: String, default: '100kb', env: 'BODY_LIMIT' },
    trustProxy: {
      doc: 'Express trust proxy setting (hops to trust for X-Forwarded-For); 0 trusts none.',
      format: 'count',
      default: 0,
      env: 'TRUST_PROXY',
    },
    shutdownTimeoutMs: {
      doc: 'How long in-flight requests may take to finish after SIGTERM.',
      format: 'count',
      default: 10000,
      env: 'SHUTDOWN_TIMEOUT_MS',
    },
    restartDelayMs: {
      doc: 'How long the cluster primary waits before replacing a worker that died.',
      format: 'count',
      default: 1000,
      env: 'SERVER_RESTART_DELAY_MS',
    },
    maxStartFailures: {
      doc: 'Workers in a row that may die before they are ready; then the primary gives up and exits 1.',
      format: 'positive',
      default: 5,
      env: 'SERVER_MAX_START_FAILURES',
    },
  },
  mysql: {
    url: {
      doc: 'MySQL/MariaDB connection URL (distributed mode, with REDIS_URL); the database is created when missing. Empty with REDIS_URL empty: embedded mode.',
      format: 'optional-url-with-scheme',
      schemes: ['mysql'],
      default: '',
      env: 'MYSQL_URL',
      sensitive: true,
    },
    poolSize: {
      doc: 'Connections in the MySQL pool.',
      format: 'positive',
      default: 10,
      env: 'MYSQL_POOL_SIZE',
    },
  },
  redis: {
    url: {
      doc: 'Redis URL (distributed mode, with MYSQL_URL). Empty with MYSQL_URL empty: embedded mode.',
      format: 'optional-url-with-scheme',
      schemes: ['redis', 'rediss'],
      default: '',
      env: 'REDIS_URL',
      sensitive: true,
    },
    prefix: {
      doc: 'Prefix of every Redis key and channel.',
      format: 'nonempty-string',
      default: 'jim:',
      env: 'REDIS_PREFIX',
    },
    commandTimeoutMs: {
      doc: 'A Redis command unanswered after this many ms fails, and the request answers 503 (0: wait forever).',
      format: 'count',
      default: 2000,
      env: 'REDIS_COMMAND_TIMEOUT_MS',
    },
  },
  mongodb: {
    uri: {
      doc: 'MongoDB URI for the message store; empty keeps messages in MySQL.',
      format: 'optional-mongo-uri',
      default: '',
      env: 'MONGODB_URI',
      sensitive: true,
    },
  },
  auth: {
    jwtSecret: {
      doc: 'Secret that signs access tokens (at least 32 characters in production); empty: a random one kept in the database.',
      format: String,
      default: '',
      env: 'JWT_SECRET',
      sensitive: true,
    },
    tokenTtlSeconds: {
      doc: 'Lifetime of an access token.',
      format: 'positive',
      default: 604800,
      env: 'JWT_TTL_SECONDS',
    },
    loginFailuresBeforeCaptcha: {
      doc: 'Failed logins for one username from one address after which the captcha is required (0: always).',
      format: 'count',
      default: 3,
      env: 'LOGIN_FAILURES_BEFORE_CAPTCHA',
    },
    loginFailureWindowSeconds: {
      doc: 'How long failed logins are remembered.',
      format: 'positive',
      default: 900,
      env: 'LOGIN_FAILURE_WINDOW_SECONDS',
    },
  },
  captcha: {
    enabled: {
      doc: 'Require a captcha on registration and after failed logins.',
      format: 'flag',
      default: true,
      env: 'CAPTCHA_ENABLED',
    },
    ttlSeconds: {
      doc: 'Lifetime of a captcha answer.',
      format: 'positive',
      default: 120,
      env: 'CAPTCHA_TTL_SECONDS',
    },
  },
  rateLimit: {
    loginPerMinute: {
      doc: 'Login attempts per client address, and password changes per user, per minute.',
      format: 'positive',
      default: 30,
      env: 'RATE_LIMIT_LOGIN_PER_MINUTE',
    },
    registerPerMinute: {
      doc: 'Registrations per client address per minute (at least 30).',
      format: 'positive',
      default: 60,
      env: 'RATE_LIMIT_REGISTER_PER_MINUTE',
    },
    captchaPerMinute: {
      doc: 'Captchas per client address per minute.',
      format: 'positive',
      default: 120,
      env: 'RATE_LIMIT_CAPTCHA_PER_MINUTE',
    },
    messagesPerSecond: {
      doc: 'Messages a user may send per second, REST and WebSocket together (0: no limit).',
      format: 'count',
      default: 10,
      env: 'RATE_LIMIT_MESSAGES_PER_SECOND',
    },
    friendRequestsPerMinute: {
      doc: 'Friend requests a user may send per minute (0: no limit).',
      format: 'count',
      default: 20,
      env: 'RATE_LIMIT_FRIEND_REQUESTS_PER_MINUTE',
    },
    joinRequestsPerMinute: {
      doc: 'Group joins and join requests a user may make per minute (0: no limit).',
      format: 'count',
      default: 20,
      env: 'RATE_LIMIT_JOIN_REQUESTS_PER_MINUTE',
    },
    uploadsPerMinute: {
      doc: 'Uploads a user may start per minute (0: no limit).',
      format: 'count',
      default: 30,
      env: 'RATE_LIMIT_UPLOADS_PER_MINUTE',
    },
    groupCreationsPerMinute: {
      doc: 'Groups a user may create per minute (0: no limit).',
      format: 'count',
      default: 5,
      env: 'RATE_LIMIT_GROUP_CREATIONS_PER_MINUTE',
    },
    profileChangesPerMinute: {
      doc: 'Profile changes (PATCH /users/me) a user may make per minute (0: no limit).',
      format: 'count',
      default: 30,
      env: 'RATE_LIMIT_PROFILE_CHANGES_PER_MINUTE',
    },
    typingIntervalSeconds: {
      doc: "A user's typing events in one conversation pass at most once per this many seconds; extra ones are dropped (0: all pass).",
      format: 'count',
      default: 3,
      env: 'RATE_LIMIT_TYPING_INTERVAL_SECONDS',
    },
  },
  cors: {
    origins: {
      doc: 'Browser origins allowed to call the API and open the WebSocket, comma-separated (* for any, https://*.example.com for subdomains); empty: none in production, any localhost origin otherwise.',
      format: 'origin-list',
      default: '',
      env: 'CORS_ORIGINS',
    },
    maxAgeSeconds: {
      doc: 'How long browsers may cache a preflight answer.',
      format: 'count',
      default: 600,
      env: 'CORS_MAX_AGE_SECONDS',
    },
  },
  log: {
    level: { doc: 'Log level.', format: 'log-level', default: 'info', env: 'LOG_LEVEL' },
  },
  ws: {
    maxFrameBytes: {
      doc: 'Largest client frame.',
      format: 'positive',
      default: 65536,
      env: 'WS_MAX_FRAME_BYTES',
    },
    framesPerSecond: {
      doc: 'Client frames allowed per second per connection.',
      format: 'positive',
      default: 20,
      env: 'WS_FRAMES_PER_SECOND',
    },
    maxConnectionsPerUser: {
      doc: 'Concurrent connections per user.',
      format: 'positive',
      default: 10,
      env: 'WS_MAX_CONNECTIONS_PER_USER',
    },
    maxBufferedBytes: {
      doc: 'Send buffer size past which a connection is closed with 1013.',
      format: 'positive',
      default: 1048576,
      env: 'WS_MAX_BUFFERED_BYTES',
    },
    pingIntervalSeconds: {
      doc: 'Heartbeat interval; a connection that misses a pong is dropped.',
      format: 'positive',
      default: 30,
      env: 'WS_PING_INTERVAL_SECONDS',
    },
    accountCheckSeconds: {
      doc: 'How often each instance re-reads the status of its connected users, closing with 4003 those of accounts disabled or deleted without the service (by SQL).',
      format: 'positive',
      default: 30,
      env: 'WS_ACCOUNT_CHECK_SECONDS',
    },
  },
  presence: {
    ttlSeconds: {
      doc: 'How long an instance registration lives without refresh; users of a dead instance go offline after this.',
      format: 'positive',
      default: 30,
      env: 'PRESENCE_TTL_SECONDS',
    },
  },
  groups: {
    maxMembersLimit: {
      doc: 'Largest maxMembers a group may have.',
      format: 'positive',
      default: 5000,
      env: 'GROUPS_MAX_MEMBERS_LIMIT',
    },
    defaultMaxMembers: {
      doc: 'maxMembers of a group created without one.',
      format: 'count',
      default: 500,
      env: 'GROUPS_DEFAULT_MAX_MEMBERS',
    },
  },
  messages: {
    recallSeconds: {
      doc: 'How long a sender may recall a message.',
      format: 'count',
      default: 120,
      env: 'MESSAGES_RECALL_SECONDS',
    },
  },
  world: {
    enabled: {
      doc: 'Whether the world channel w:world is open.',
      format: 'flag',
      default: true,
      env: 'WORLD_ENABLED',
    },
  },
  federation: {
    enabled: {
      doc: "Talk to other organisations' servers through the signed REST relay.",
      format: 'flag',
      default: false,
      env: 'FEDERATION_ENABLED',
    },
    domain: {
      doc: "This server's federation name, e.g. a.example (lowercase); required when federation is enabled.",
      format: 'optional-domain',
      default: '',
      env: 'FEDERATION_DOMAIN',
    },
    publicUrl: {
      doc: 'The base URL peers call (its /federation/v1 routes); required when federation is enabled.',
      format: 'optional-http-url',
      default: '',
      env: 'FEDERATION_PUBLIC_URL',
    },
    mode: {
      doc: 'allowlist: only FEDERATION_PEERS; open: any server not denied (never private addresses).',
      format: ['allowlist', 'open'],
      default: 'allowlist',
      env: 'FEDERATION_MODE',
    },
    peers: {
      doc: 'Comma-separated domain=baseUrl pairs: the allow-list, and where to reach each peer.',
      format: 'peer-list',
      default: '',
      env: 'FEDERATION_PEERS',
    },
    deny: {
      doc: 'Comma-separated domains never talked to, in either mode.',
      format: 'domain-list',
      default: '',
      env: 'FEDERATION_DENY',
    },
    maxRetryHours: {
      doc: 'How long an event to a peer is retried before it goes to the dead letters.',
      format: 'positive',
      default: 120,
      env: 'FEDERATION_MAX_RETRY_HOURS',
    },
    keyCacheSeconds: {
      doc: "How long a peer's fetched keys are trusted before they are fetched again (at most 7 days).",
      format: 'positive',
      default: 86400,
      env: 'FEDERATION_KEY_CACHE_SECONDS',
    },
    keyRefetchSeconds: {
      doc: "Least time between two fetches of one peer's keys when an unknown key id arrives.",
      format: 'positive',
      default: 60,
      env: 'FEDERATION_KEY_REFETCH_SECONDS',
    },
    validUntilSeconds: {
      doc: 'How far ahead the well-known document says its keys are valid (how long peers may cache them).',
      format: 'positive',
      default: 86400,
      env: 'FEDERATION_VALID_UNTIL_SECONDS',
    },
  },
  uploads: {
    storage: {
      doc: 'Where uploaded files are kept: disk (under DATA_DIR/uploads) or s3 (an S3-compatible bucket).',
      format: 'storage-engine',
      default: 'disk',
      env: 'UPLOADS_STORAGE',
    },
    maxImageBytes: {
      doc: 'Largest image upload in bytes.',
      format: 'positive',
      default: 10485760,
      env: 'UPLOADS_MAX_IMAGE_BYTES',
    },
    maxVoiceBytes: {
      doc: 'Largest voice (audio) upload in bytes.',
      format: 'positive',
      default: 10485760,
      env: 'UPLOADS_MAX_VOICE_BYTES',
    },
    maxVideoBytes: {
      doc: 'Largest video upload in bytes.',
      format: 'positive',
      default: 104857600,
      env: 'UPLOADS_MAX_VIDEO_BYTES',
    },
    maxFileBytes: {
      doc: 'Largest upload of any other kind of file in bytes.',
      format: 'positive',
      default: 104857600,
      env: 'UPLOADS_MAX_FILE_BYTES',
    },
    quotaBytes: {
      doc: 'Bytes one user may keep stored in uploads (files and thumbnails); past it 409 QUOTA_EXCEEDED.',
      format: 'positive',
      default: 1073741824,
      env: 'UPLOADS_QUOTA_BYTES',
    },
    orphanTtlSeconds: {
      doc: 'Uploads that no message refers to are deleted this long after they were made.',
      format: 'positive',
      default: 86400,
      env: 'UPLOADS_ORPHAN_TTL_SECONDS',
    },
    sweepIntervalSeconds: {
      doc: 'How often each instance looks for unreferenced uploads to delete.',
      format: 'positive',
      default: 600,
      env: 'UPLOADS_SWEEP_INTERVAL_SECONDS',
    },
    publicBaseUrl: {
      doc: 'Base URL put before /api/v1/uploads/{id} in upload and message URLs; empty gives the path alone.',
      format: 'optional-http-url',
      default: '',
      env: 'UPLOADS_PUBLIC_BASE_URL',
    },
    s3: {
      endpoint: {
        doc: 'S3 endpoint URL (empty: AWS for the region).',
        format: 'optional-http-url',
        default: '',
        env: 'UPLOADS_S3_ENDPOINT',
      },
      bucket: { doc: 'S3 bucket.', format: String, default: '', env: 'UPLOADS_S3_BUCKET' },
      region: { doc: 'S3 region.', format: String, default: 'us-east-1', env: 'UPLOADS_S3_REGION' },
      accessKeyId: {
        doc: 'S3 access key id (empty: the SDK default credential chain).',
        format: String,
        default: '',
        env: 'UPLOADS_S3_ACCESS_KEY_ID',
        sensitive: true,
      },
      secretAccessKey: {
        doc: 'S3 secret access key.',
        format: String,
        default: '',
        env: 'UPLOADS_S3_SECRET_ACCESS_KEY',
        sensitive: true,
      },
      forcePathStyle: {
        doc: 'Address the bucket as <endpoint>/<bucket> (MinIO and most S3-compatible servers need this).',
        format: 'flag',
        default: false,
        env: 'UPLOADS_S3_FORCE_PATH_STYLE',
      },
      prefix: {
        doc: 'Prefix of every object key the server writes.',
        format: String,
        default: 'uploads/',
        env: 'UPLOADS_S3_PREFIX',
      },
    },
  },
};
