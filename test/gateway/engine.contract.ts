import { decodeBroadcast, decodeRouted, encodeBroadcast } from '../../src/gateway/bus-codec';
import type { BusScope, GatewayEngine } from '../../src/gateway/engine';
import type { ServerEvent } from '../../src/gateway/gateway.types';
import { PresenceService } from '../../src/gateway/presence';
import { createLogger } from '../../src/shared/logger';
import { eventually } from '../helpers/ws-client';

/** Engines of one backend: `instance()` is one more instance sharing it with the others. */
export interface EngineBackend {
  instance(): Promise<GatewayEngine>;
  close(): Promise<void>;
}

const TTL = 60_000;

/** An engine whose bus messages are recorded. */
interface Node {
  engine: GatewayEngine;
  got: Array<{ message: string; scope: BusScope }>;
}

let counter = 0;
/** A user id no other test (or run) uses. */
const uid = () => `u${process.pid}x${Date.now().toString(36)}x${++counter}`;

/** The behaviour every gateway engine (broker, connection registry, lease) must show. */
export function gatewayEngineContract(name: string, open: () => Promise<EngineBackend>): void {
  describe(`Gateway engine contract: ${name}`, () => {
    let backend: EngineBackend;
    const nodes: Node[] = [];

    /** A new live, subscribed instance. */
    async function node(): Promise<Node> {
      const engine = await backend.instance();
      const n: Node = { engine, got: [] };
      await engine.lease.heartbeat(TTL);
      await engine.broker.subscribe((message, scope) => n.got.push({ message, scope }));
      nodes.push(n);
      return n;
    }

    beforeAll(async () => {
      backend = await open();
    });
    afterEach(async () => {
      for (const n of nodes.splice(0)) {
        await n.engine.lease.leave();
        await n.engine.broker.close();
      }
    });
    afterAll(async () => {
      await backend.close();
    });

    describe('connection registry', () => {
      it('counts connections per user across devices and instances, up to the limit', async () => {
        const [a, b] = [await node(), await node()];
        const u = uid();
        expect(await a.engine.registry.connect(u, 3)).toBe(0);
        expect(await a.engine.registry.connect(u, 3)).toBe(1);
        expect(await b.engine.registry.connect(u, 3)).toBe(2);
        expect(await b.engine.registry.connect(u, 3)).toBe(-1);
        expect(await a.engine.registry.disconnect(u)).toBe(2);
        expect(await b.engine.registry.connect(u, 3)).toBe(2);
        expect(await b.engine.registry.disconnect(u)).toBe(2);
        expect(await b.engine.registry.disconnect(u)).toBe(1);
        expect(await a.engine.registry.disconnect(u)).toBe(0);
        expect(await a.engine.registry.online([u])).toEqual(new Set());
      });

      it('answers which users are online, in batches of any size', async () => {
        const [a, b] = [await node(), await node()];
        const ids = Array.from({ length: 1500 }, uid);
        await a.engine.registry.connect(ids[3], 5);
        await b.engine.registry.connect(ids[1200], 5);
        expect(await a.engine.registry.online(ids)).toEqual(new Set([ids[3], ids[1200]]));
        expect(await b.engine.registry.online([])).toEqual(new Set());
      });

      it('counts nothing on an instance whose lease lapsed', async () => {
        const [a, b] = [await node(), await node()];
        const u = uid();
        await b.engine.registry.connect(u, 5);
        expect(await a.engine.registry.online([u])).toEqual(new Set([u]));
        await b.engine.lease.heartbeat(1);
        await new Promise((r) => setTimeout(r, 20));
        expect(await a.engine.registry.online([u])).toEqual(new Set());
        expect(await a.engine.registry.connect(u, 1)).toBe(0);
        expect(await a.engine.registry.route([u], 'evt', '{}')).toBe(0);
      });
    });

    describe('routing', () => {
      it("publishes once to each other instance holding the users, naming only that instance's users", async () => {
        const [a, b, c] = [await node(), await node(), await node()];
        const [onA, onB, onC, nowhere] = [uid(), uid(), uid(), uid()];
        const onBC = uid();
        await a.engine.registry.connect(onA, 5);
        await b.engine.registry.connect(onB, 5);
        await b.engine.registry.connect(onBC, 5);
        await c.engine.registry.connect(onC, 5);
        await c.engine.registry.connect(onBC, 5);
        expect(await a.engine.registry.route([onA, onB, onC, onBC, nowhere], 'evt', '{"n":1}')).toBe(2);
        await eventually(() => b.got.length === 1 && c.got.length === 1);
        expect(b.got[0].scope).toBe('instance');
        expect(decodeRouted(b.got[0].message)).toEqual({
          kind: 'event',
          type: 'evt',
          userIds: [onB, onBC],
          payload: '{"n":1}',
        });
        expect(decodeRouted(c.got[0].message)).toMatchObject({ userIds: [onC, onBC], payload: '{"n":1}' });
        // A marker through the same bus shows nothing else was on its way to A.
        await b.engine.broker.publish(a.engine.instanceId, 'marker\n-\n');
        await eventually(() => a.got.length === 1);
        expect(a.got[0].message).toBe('marker\n-\n');
      });

      it('publishes to one instance only', async () => {
        const [a, b, c] = [await node(), await node(), await node()];
        await a.engine.broker.publish(b.engine.instanceId, 'evt\nx\n1');
        await a.engine.broker.publish(c.engine.instanceId, 'evt\nx\n2');
        await eventually(() => b.got.length === 1 && c.got.length === 1);
        expect(b.got).toEqual([{ message: 'evt\nx\n1', scope: 'instance' }]);
        expect(c.got).toEqual([{ message: 'evt\nx\n2', scope: 'instance' }]);
        expect(a.got).toEqual([]);
      });

      it('broadcasts to every subscribed instance, the publisher included', async () => {
        const [a, b, c] = [await node(), await node(), await node()];
        await a.engine.broker.publishAll(encodeBroadcast('world', a.engine.instanceId, false, '{}'));
        await eventually(() => [a, b, c].every((n) => n.got.length === 1));
        for (const n of [a, b, c]) {
          expect(n.got[0].scope).toBe('all');
          expect(decodeBroadcast(n.got[0].message)).toEqual({
            type: 'world',
            origin: a.engine.instanceId,
            everyone: false,
            payload: '{}',
          });
        }
      });

      it("sends a control message to every other live instance's own channel", async () => {
        const [a, b, c] = [await node(), await node(), await node()];
        expect(await a.engine.registry.broadcast('\u0000resync', '')).toBe(2);
        await eventually(() => b.got.length === 1 && c.got.length === 1);
        expect(decodeRouted(b.got[0].message)).toEqual({ kind: 'resync' });
        expect(c.got[0].scope).toBe('instance');
        expect(a.got).toEqual([]);
      });

      it('stops delivering to an instance once its broker closed', async () => {
        const [a, b] = [await node(), await node()];
        await b.engine.broker.close();
        expect(b.engine.broker.receiving).toBe(false);
        await a.engine.broker.publish(b.engine.instanceId, 'evt\nx\n1');
        await a.engine.broker.publishAll(encodeBroadcast('world', a.engine.instanceId, false, '{}'));
        await eventually(() => a.got.length === 1);
        expect(b.got).toEqual([]);
      });
    });

    describe('lease', () => {
      it('reports a missing or expired lease as lapsed, a renewed one as held', async () => {
        const engine = await backend.instance();
        nodes.push({ engine, got: [] });
        expect((await engine.lease.heartbeat(TTL)).lapsed).toBe(true);
        expect((await engine.lease.heartbeat(TTL)).lapsed).toBe(false);
        await engine.lease.heartbeat(1);
        await new Promise((r) => setTimeout(r, 20));
        expect((await engine.lease.heartbeat(TTL)).lapsed).toBe(true);
      });

      it('lets one instance claim an expired one and drain it, taking its users offline', async () => {
        const [a, b, c] = [await node(), await node(), await node()];
        const [onlyB, alsoA] = [uid(), uid()];
        await b.engine.registry.connect(onlyB, 5);
        await b.engine.registry.connect(alsoA, 5);
        await a.engine.registry.connect(alsoA, 5);
        await b.engine.lease.heartbeat(1);
        await new Promise((r) => setTimeout(r, 20));
        expect((await a.engine.lease.heartbeat(TTL)).dead).toContain(b.engine.instanceId);
        expect(await a.engine.lease.claimDead(b.engine.instanceId)).toBe(true);
        expect(await c.engine.lease.claimDead(b.engine.instanceId)).toBe(false);
        expect(await a.engine.lease.claimDead(c.engine.instanceId)).toBe(false);
        expect(await a.engine.lease.drain(b.engine.instanceId)).toEqual([onlyB]);
        expect(await a.engine.registry.online([onlyB, alsoA])).toEqual(new Set([alsoA]));
        // Drained: coming back, B holds nothing.
        await b.engine.lease.heartbeat(TTL);
        expect(await a.engine.registry.online([onlyB])).toEqual(new Set());
      });

      it('withdraws an instance on leave, returning the users it alone held', async () => {
        const [a, b] = [await node(), await node()];
        const [onlyB, alsoA] = [uid(), uid()];
        await b.engine.registry.connect(onlyB, 5);
        await b.engine.registry.connect(alsoA, 5);
        await a.engine.registry.connect(alsoA, 5);
        expect(await b.engine.lease.leave()).toEqual([onlyB]);
        expect(await a.engine.registry.online([onlyB, alsoA])).toEqual(new Set([alsoA]));
        expect(await a.engine.registry.route([onlyB, alsoA], 'evt', '{}')).toBe(0);
        expect((await b.engine.lease.heartbeat(TTL)).lapsed).toBe(true);
      });

      it("rewrites this instance's entries to exactly what it holds on reconcile", async () => {
        const [a, b] = [await node(), await node()];
        const [kept, dropped, droppedAlsoB, added] = [uid(), uid(), uid(), uid()];
        await a.engine.registry.connect(kept, 5);
        await a.engine.registry.connect(dropped, 5);
        await a.engine.registry.connect(droppedAlsoB, 5);
        await b.engine.registry.connect(droppedAlsoB, 5);
        const offline = await a.engine.lease.reconcile(
          new Map([
            [kept, 2],
            [added, 1],
          ]),
        );
        expect(offline).toEqual([dropped]);
        expect(await b.engine.registry.online([kept, dropped, droppedAlsoB, added])).toEqual(
          new Set([kept, droppedAlsoB, added]),
        );
        expect(await a.engine.registry.disconnect(kept)).toBe(1);
        // Entries of a withdrawn instance come back whole on reconcile.
        await a.engine.lease.leave();
        await a.engine.lease.heartbeat(TTL);
        expect(await a.engine.lease.reconcile(new Map([[kept, 1]]))).toEqual([]);
        expect(await b.engine.registry.online([kept, added])).toEqual(new Set([kept]));
      });
    });

    describe('presence', () => {
      it('announces the first connection anywhere and the last one, to the audience, once each', async () => {
        const [a, b] = [await node(), await node()];
        const u = uid();
        const friend = uid();
        const sent: Array<{ to: readonly string[]; event: ServerEvent }> = [];
        const presence = new PresenceService({
          registry: a.engine.registry,
          delivery: { deliver: async (to, event) => void sent.push({ to, event }) },
          choices: async (ids) => new Map(ids.map((id) => [id, 'busy' as const])),
          audience: async (id) => (id === u ? [friend] : []),
          logger: createLogger({ level: 'silent' }),
        });
        const first = (await a.engine.registry.connect(u, 5)) === 0;
        if (first) presence.cameOnline(u);
        if ((await b.engine.registry.connect(u, 5)) === 0) presence.cameOnline(u);
        await eventually(() => sent.length === 1);
        expect(sent[0]).toEqual({
          to: [friend],
          event: { type: 'presence', data: { userId: u, online: true, presence: 'busy' } },
        });
        expect(await presence.onlineUserIds([u, friend])).toEqual(new Set([u]));
        if ((await a.engine.registry.disconnect(u)) === 0) presence.wentOffline([u]);
        if ((await b.engine.registry.disconnect(u)) === 0) presence.wentOffline([u]);
        await eventually(() => sent.length === 2);
        expect(sent[1].event).toEqual({
          type: 'presence',
          data: { userId: u, online: false, presence: 'offline' },
        });
        expect(await presence.onlineUserIds([u])).toEqual(new Set());
        await presence.presenceChosen(u, 'online');
        expect(sent).toHaveLength(2);
      });
    });
  });
}
