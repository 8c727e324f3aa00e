import type { Redis, RedisClients, RedisKeys } from '../infra/redis';
import { newId } from '../shared/ids';
import type {
  Broker,
  BusHandler,
  ConnectionRegistry,
  EngineLink,
  GatewayEngine,
  InstanceLease,
} from './engine';

/*
 * Redis layout (all under the configured prefix):
 *   gw:instances        sorted set  instanceId -> expiry (ms, Redis clock); refreshed by each instance's heartbeat
 *   gw:user:<userId>    hash        instanceId -> number of that user's connections on that instance
 *   gw:iu:<instanceId>  set         user ids with a connection on that instance (to clean up after it)
 *   gw:inst:<instanceId> channel    events for users connected to that instance
 *   gw:all              channel     broadcasts to every instance
 * A hash field counts only while its instance's expiry lies in the future, so a killed instance's
 * users read as offline once its heartbeat lapses, before any sweeper has run.
 */

const LUA_HELPERS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local liveCache = {}
local function live(instances, inst)
  local v = liveCache[inst]
  if v == nil then
    local s = redis.call('ZSCORE', instances, inst)
    v = (s ~= false and s ~= nil and tonumber(s) > now)
    liveCache[inst] = v
  end
  return v
end
local function liveTotal(instances, userKey)
  local fields = redis.call('HGETALL', userKey)
  local total = 0
  for i = 1, #fields, 2 do
    if live(instances, fields[i]) then total = total + tonumber(fields[i + 1]) end
  end
  return total
end
`;

/** KEYS: instances, userKey, instUsers. ARGV: instanceId, maxConnections, userId. Returns the previous live total or -1 when full. */
const CONNECT = `${LUA_HELPERS}
local before = liveTotal(KEYS[1], KEYS[2])
if before >= tonumber(ARGV[2]) then return -1 end
if redis.call('HINCRBY', KEYS[2], ARGV[1], 1) == 1 then redis.call('SADD', KEYS[3], ARGV[3]) end
return before`;

/** KEYS: instances, userKey, instUsers. ARGV: instanceId, userId. Returns the live total left. */
const DISCONNECT = `${LUA_HELPERS}
if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[2])
end
return liveTotal(KEYS[1], KEYS[2])`;

/** KEYS: instances, userKey... Returns the 1-based positions (among the user keys) of online users. */
const ONLINE = `${LUA_HELPERS}
local out = {}
for i = 2, #KEYS do
  if liveTotal(KEYS[1], KEYS[i]) > 0 then out[#out + 1] = i - 1 end
end
return out`;

/**
 * KEYS: instances, userKey... ARGV: selfId, channelPrefix, header, payload, userId... (parallel to the user keys).
 * Publishes one message per other live instance holding any of the users; returns how many.
 */
const ROUTE = `${LUA_HELPERS}
local targets, order = {}, {}
for i = 2, #KEYS do
  local insts = redis.call('HKEYS', KEYS[i])
  for _, inst in ipairs(insts) do
    if inst ~= ARGV[1] and live(KEYS[1], inst) then
      local list = targets[inst]
      if list == nil then
        list = {}
        targets[inst] = list
        order[#order + 1] = inst
      end
      list[#list + 1] = ARGV[i + 3]
    end
  end
end
for _, inst in ipairs(order) do
  redis.call('PUBLISH', ARGV[2] .. inst, ARGV[3] .. '\\n' .. table.concat(targets[inst], ',') .. '\\n' .. ARGV[4])
end
return #order`;

/**
 * KEYS: instances. ARGV: instanceId, ttlMs. Returns {lapsed (1/0), dead instance ids...}: lapsed when the
 * lease was missing (swept, or Redis lost its data) or already expired (events were routed past it).
 */
const HEARTBEAT = `${LUA_HELPERS}
local lapsed = live(KEYS[1], ARGV[1]) and 0 or 1
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
table.insert(dead, 1, lapsed)
return dead`;

/**
 * KEYS: instances, instUsers. ARGV: instanceId, userKeyPrefix, then userId, count pairs: every user this
 * instance holds. Sets this instance's field of each to its count, removes it from every other user, and
 * returns the users so removed who are now offline everywhere.
 */
const RECONCILE = `${LUA_HELPERS}
local want = {}
for i = 3, #ARGV, 2 do want[ARGV[i]] = ARGV[i + 1] end
local offline = {}
for _, u in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if want[u] == nil then
    local k = ARGV[2] .. u
    redis.call('HDEL', k, ARGV[1])
    redis.call('SREM', KEYS[2], u)
    if liveTotal(KEYS[1], k) == 0 then offline[#offline + 1] = u end
  end
end
for u, n in pairs(want) do
  redis.call('HSET', ARGV[2] .. u, ARGV[1], n)
  redis.call('SADD', KEYS[2], u)
end
return offline`;

/** KEYS: instances. ARGV: selfId, channelPrefix, message. Publishes to every other live instance; returns how many. */
const BROADCAST = `${LUA_HELPERS}
local n = 0
for _, inst in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  if inst ~= ARGV[1] then
    redis.call('PUBLISH', ARGV[2] .. inst, ARGV[3])
    n = n + 1
  end
end
return n`;

/** KEYS: instances. ARGV: instanceId. Removes the instance only if it is still expired; returns 1 when claimed. */
const CLAIM_DEAD = `${LUA_HELPERS}
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s == false or s == nil or tonumber(s) > now then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1`;

/**
 * KEYS: instances, instUsers. ARGV: instanceId, userKeyPrefix, batch.
 * Pops up to `batch` users of a removed instance, drops its field from each, returns
 * {remaining, user ids now offline everywhere...}.
 */
const DRAIN = `${LUA_HELPERS}
local users = redis.call('SPOP', KEYS[2], tonumber(ARGV[3]))
local out = {0}
for _, u in ipairs(users) do
  local k = ARGV[2] .. u
  redis.call('HDEL', k, ARGV[1])
  if liveTotal(KEYS[1], k) == 0 then out[#out + 1] = u end
end
out[1] = redis.call('SCARD', KEYS[2])
return out`;

type Reply = Array<string | number>;

interface GatewayRedis extends Redis {
  gwConnect(i: string, u: string, s: string, id: string, max: number, uid: string): Promise<number>;
  gwDisconnect(i: string, u: string, s: string, id: string, uid: string): Promise<number>;
  gwOnline(numKeys: number, ...args: string[]): Promise<number[]>;
  gwRoute(numKeys: number, ...args: string[]): Promise<number>;
  gwHeartbeat(i: string, id: string, ttlMs: number): Promise<Reply>;
  gwClaimDead(i: string, id: string): Promise<number>;
  gwDrain(i: string, s: string, id: string, prefix: string, batch: number): Promise<Reply>;
  gwReconcile(i: string, s: string, id: string, prefix: string, ...pairs: string[]): Promise<Reply>;
  gwBroadcast(i: string, id: string, channelPrefix: string, message: string): Promise<number>;
}

const BATCH = 1000;

/** The cross-instance connection registry, router and lease, kept in Redis and driven by Lua scripts. */
export class RedisConnectionRegistry implements ConnectionRegistry, InstanceLease {
  private readonly redis: GatewayRedis;
  private readonly instancesKey: string;
  private readonly userPrefix: string;
  private readonly channelPrefix: string;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    readonly instanceId: string,
  ) {
    this.redis = redis as GatewayRedis;
    this.instancesKey = keys.key('gw', 'instances');
    this.userPrefix = keys.key('gw', 'user', '');
    this.channelPrefix = keys.key('gw', 'inst', '');
    if (!('gwConnect' in redis)) {
      redis.defineCommand('gwConnect', { numberOfKeys: 3, lua: CONNECT });
      redis.defineCommand('gwDisconnect', { numberOfKeys: 3, lua: DISCONNECT });
      redis.defineCommand('gwOnline', { lua: ONLINE });
      redis.defineCommand('gwRoute', { lua: ROUTE });
      redis.defineCommand('gwHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
      redis.defineCommand('gwClaimDead', { numberOfKeys: 1, lua: CLAIM_DEAD });
      redis.defineCommand('gwDrain', { numberOfKeys: 2, lua: DRAIN });
      redis.defineCommand('gwReconcile', { numberOfKeys: 2, lua: RECONCILE });
      redis.defineCommand('gwBroadcast', { numberOfKeys: 1, lua: BROADCAST });
    }
  }

  /** Counts a new connection; returns the user's live connections before it, or -1 when at `max`. */
  connect(userId: string, max: number): Promise<number> {
    return this.redis.gwConnect(
      this.instancesKey,
      this.userPrefix + userId,
      this.instanceUsersKey(this.instanceId),
      this.instanceId,
      max,
      userId,
    );
  }

  /** Uncounts a connection; returns the user's live connections left on all instances. */
  disconnect(userId: string): Promise<number> {
    return this.redis.gwDisconnect(
      this.instancesKey,
      this.userPrefix + userId,
      this.instanceUsersKey(this.instanceId),
      this.instanceId,
      userId,
    );
  }

  /** The subset of `userIds` with a connection on a live instance (one round trip per 1000 ids). */
  async online(userIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let start = 0; start < userIds.length; start += BATCH) {
      const chunk = userIds.slice(start, start + BATCH);
      const positions = await this.redis.gwOnline(
        chunk.length + 1,
        this.instancesKey,
        ...chunk.map((id) => this.userPrefix + id),
      );
      for (const p of positions) out.add(chunk[p - 1]);
    }
    return out;
  }

  /** Publishes `payload` once to every other live instance holding any of `userIds`. */
  async route(userIds: readonly string[], type: string, payload: string): Promise<number> {
    let published = 0;
    for (let start = 0; start < userIds.length; start += BATCH) {
      const chunk = userIds.slice(start, start + BATCH);
      published += await this.redis.gwRoute(
        chunk.length + 1,
        this.instancesKey,
        ...chunk.map((id) => this.userPrefix + id),
        this.instanceId,
        this.channelPrefix,
        type,
        payload,
        ...chunk,
      );
    }
    return published;
  }

  /**
   * Extends this instance's lease; returns whether it had lapsed (missing or expired: its entries may be gone
   * and events may have been routed past it) and the expired instances.
   */
  async heartbeat(ttlMs: number): Promise<{ lapsed: boolean; dead: string[] }> {
    const [lapsed, ...dead] = await this.redis.gwHeartbeat(this.instancesKey, this.instanceId, ttlMs);
    return { lapsed: Number(lapsed) === 1, dead: dead.map(String) };
  }

  /** Publishes `<type>\n*\n<payload>` to every other live instance; returns how many. */
  broadcast(type: string, payload: string): Promise<number> {
    return this.redis.gwBroadcast(
      this.instancesKey,
      this.instanceId,
      this.channelPrefix,
      `${type}\n*\n${payload}`,
    );
  }

  /** Takes over cleaning an expired instance; false when another instance already did or it came back. */
  async claimDead(instanceId: string): Promise<boolean> {
    return (await this.redis.gwClaimDead(this.instancesKey, instanceId)) === 1;
  }

  /** Removes every entry of a removed instance; returns the users that are now offline everywhere. */
  async drain(instanceId: string): Promise<string[]> {
    const offline: string[] = [];
    for (;;) {
      const [remaining, ...users] = await this.redis.gwDrain(
        this.instancesKey,
        this.instanceUsersKey(instanceId),
        instanceId,
        this.userPrefix,
        BATCH,
      );
      for (const u of users) offline.push(String(u));
      if (Number(remaining) === 0) return offline;
    }
  }

  /** Withdraws this instance (shutdown): its lease, then its entries; returns the users now offline. */
  async leave(): Promise<string[]> {
    await this.redis.zrem(this.instancesKey, this.instanceId);
    return this.drain(this.instanceId);
  }

  /**
   * Makes this instance's entries exactly `counts` (user id -> connections held here): written again after
   * Redis lost them or another instance swept them, and cleared for users no longer held (a disconnect that
   * failed). Returns the users so cleared who are now offline everywhere.
   */
  async reconcile(counts: ReadonlyMap<string, number>): Promise<string[]> {
    const pairs: string[] = [];
    for (const [userId, n] of counts) pairs.push(userId, String(n));
    const offline = await this.redis.gwReconcile(
      this.instancesKey,
      this.instanceUsersKey(this.instanceId),
      this.instanceId,
      this.userPrefix,
      ...pairs,
    );
    return offline.map(String);
  }

  private instanceUsersKey(instanceId: string): string {
    return this.keys.key('gw', 'iu', instanceId);
  }
}

/**
 * The bus on Redis pub/sub: each instance's channel and the all-instances channel, received on the
 * subscriber client, published with the command client. Every `ready` of a client after `subscribe`
 * follows a lost connection (the first came before) and is reported.
 */
export class RedisBroker implements Broker {
  private readonly channel: string;
  private readonly allChannel: string;
  private handler: BusHandler | null = null;
  private subscribed = false;
  private listener: ((link: EngineLink) => void) | null = null;

  constructor(
    private readonly redis: RedisClients,
    instanceId: string,
  ) {
    this.channel = redis.keys.key('gw', 'inst', instanceId);
    this.allChannel = redis.keys.key('gw', 'all');
  }

  async publish(instanceId: string, message: string): Promise<void> {
    await this.redis.command.publish(this.redis.keys.key('gw', 'inst', instanceId), message);
  }

  async publishAll(message: string): Promise<void> {
    await this.redis.command.publish(this.allChannel, message);
  }

  async subscribe(handler: BusHandler): Promise<void> {
    this.handler = handler;
    this.redis.subscriber.on('message', this.onMessage);
    await this.redis.subscriber.subscribe(this.channel, this.allChannel);
    this.subscribed = true;
    this.redis.command.on('ready', this.onCommandReady);
    this.redis.subscriber.on('ready', this.onSubscriberReady);
  }

  async resubscribe(): Promise<void> {
    await this.redis.subscriber.subscribe(this.channel, this.allChannel);
  }

  get receiving(): boolean {
    return this.subscribed && this.redis.subscriber.status === 'ready';
  }

  onReconnect(listener: (link: EngineLink) => void): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.redis.subscriber.off('message', this.onMessage);
    this.redis.command.off('ready', this.onCommandReady);
    this.redis.subscriber.off('ready', this.onSubscriberReady);
    this.handler = null;
    this.listener = null;
    this.subscribed = false;
    await this.redis.subscriber.unsubscribe(this.channel, this.allChannel).catch(() => undefined);
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel === this.channel) this.handler?.(message, 'instance');
    else if (channel === this.allChannel) this.handler?.(message, 'all');
  };

  private readonly onCommandReady = (): void => this.listener?.('command');

  private readonly onSubscriberReady = (): void => this.listener?.('subscriber');
}

/** A gateway engine on Redis, for any number of instances sharing the clients' server and key prefix. */
export function redisGatewayEngine(redis: RedisClients, instanceId: string = newId()): GatewayEngine {
  const registry = new RedisConnectionRegistry(redis.command, redis.keys, instanceId);
  return { instanceId, broker: new RedisBroker(redis, instanceId), registry, lease: registry };
}
