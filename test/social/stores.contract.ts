import { randomInt } from 'node:crypto';
import type { FriendsStore } from '../../src/modules/friends/friends.store';
import type { GroupsStore } from '../../src/modules/groups/groups.store';
import { describeWith, type Server } from '../helpers/servers';

let counter = 0;
/** A fresh user id (the stores never need the user row itself). */
function uid(): string {
  return String(randomInt(1, 2 ** 30) * 1000 + (++counter % 1000));
}

/**
 * Two fresh ids whose numeric order differs from their text order (a 7-digit id starting with 9 and an
 * 8-digit one starting with 1), so ordering ids as text instead of numbers shows.
 */
function numericPair(): [string, string] {
  const r = randomInt(0, 999_999);
  return [String(9_000_000 + r), String(10_000_000 + r)];
}

/** The behaviour every FriendsStore implementation must show. */
export function friendsStoreContract(
  name: string,
  open: () => Promise<{
    store: FriendsStore;
    /** Creates an account and returns its id (the stores serialise a pair's changes on its users). */
    newUser: () => Promise<string>;
    close: () => Promise<void>;
  }>,
  needs: Server[] = [],
) {
  describeWith(...needs)(`FriendsStore contract: ${name}`, () => {
    let store: FriendsStore;
    let newUser: () => Promise<string>;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, newUser, close } = await open());
    });
    afterAll(async () => {
      await close();
    });

    it('creates a request, refuses a duplicate, and accepts the reverse one with each side’s remark', async () => {
      const [a, b] = [uid(), uid()];
      const first = await store.sendRequest({ fromUserId: a, toUserId: b, message: 'hi', remark: 'Bee' });
      expect(first).toMatchObject({
        kind: 'created',
        request: { fromUserId: a, toUserId: b, status: 'pending' },
      });
      expect(await store.sendRequest({ fromUserId: a, toUserId: b, message: null, remark: null })).toEqual({
        kind: 'pending',
      });
      const reverse = await store.sendRequest({ fromUserId: b, toUserId: a, message: null, remark: 'Ay' });
      expect(reverse).toMatchObject({ kind: 'accepted_reverse', request: { fromUserId: a, message: 'hi' } });
      expect(await store.findFriendship(a, b)).toMatchObject({ remark: 'Bee', hidden: false });
      expect(await store.findFriendship(b, a)).toMatchObject({ remark: 'Ay' });
      expect(await store.sendRequest({ fromUserId: a, toUserId: b, message: null, remark: null })).toEqual({
        kind: 'already_friends',
      });
      expect(await store.listPendingRequests(b, 'incoming', null, 10)).toEqual([]);
    });

    it('accepts and rejects only requests addressed to the user, once', async () => {
      const [a, b, c] = [uid(), uid(), uid()];
      const r1 = await store.sendRequest({ fromUserId: a, toUserId: b, message: null, remark: null });
      const r2 = await store.sendRequest({ fromUserId: c, toUserId: b, message: null, remark: null });
      if (r1.kind !== 'created' || r2.kind !== 'created') throw new Error('setup');
      expect(await store.acceptRequest(r1.request.id, a, null)).toEqual({ kind: 'not_found' });
      expect(await store.acceptRequest(r1.request.id, b, 'x')).toMatchObject({ kind: 'accepted' });
      expect(await store.acceptRequest(r1.request.id, b, null)).toEqual({
        kind: 'not_pending',
        status: 'accepted',
      });
      expect(await store.rejectRequest(r2.request.id, a, null)).toEqual({ kind: 'not_found' });
      expect(await store.rejectRequest(r2.request.id, b, 'no')).toMatchObject({ kind: 'rejected' });
      expect(await store.rejectRequest(r2.request.id, b, 'no')).toEqual({ kind: 'not_pending' });
      expect(await store.acceptRequest('999999999999', b, null)).toEqual({ kind: 'not_found' });
    });

    it('blocks either way refuse requests, cancel pending ones and show in the pair relation', async () => {
      const [a, b] = [uid(), uid()];
      const r = await store.sendRequest({ fromUserId: a, toUserId: b, message: null, remark: null });
      await store.block(b, a);
      await store.block(b, a);
      expect(await store.listPendingRequests(b, 'incoming', null, 10)).toEqual([]);
      expect(r.kind === 'created' && (await store.acceptRequest(r.request.id, b, null))).toEqual({
        kind: 'not_pending',
        status: 'cancelled',
      });
      for (const [x, y] of [
        [a, b],
        [b, a],
      ]) {
        expect(await store.sendRequest({ fromUserId: x, toUserId: y, message: null, remark: null })).toEqual({
          kind: 'blocked',
        });
      }
      const [low, high] = Number(a) < Number(b) ? [a, b] : [b, a];
      expect(await store.pairRelation(low, high)).toEqual({
        friends: false,
        lowBlocksHigh: low === b,
        highBlocksLow: high === b,
      });
      expect(await store.listBlocked(b, null, 10)).toEqual([a]);
      expect(await store.blockedIds(b)).toEqual([a]);
      expect(await store.blockedIds(a)).toEqual([]);
      expect([...(await store.blockersAmong(a, [b, uid()]))]).toEqual([b]);
      expect(await store.blockersAmong(b, [a])).toEqual(new Set());
      expect(await store.blockersAmong(a, [])).toEqual(new Set());
      await store.unblock(b, a);
      expect(await store.listBlocked(b, null, 10)).toEqual([]);
      expect(await store.blockedIds(b)).toEqual([]);
      expect(await store.blockersAmong(a, [b])).toEqual(new Set());
    });

    it('pages pending requests newest first, and friends and blocks by numeric id', async () => {
      const b = uid();
      const senders = [uid(), uid(), uid()];
      const ids: string[] = [];
      for (const from of senders) {
        const r = await store.sendRequest({ fromUserId: from, toUserId: b, message: null, remark: null });
        if (r.kind !== 'created') throw new Error('setup');
        ids.push(r.request.id);
      }
      const page1 = await store.listPendingRequests(b, 'incoming', null, 2);
      expect(page1.map((r) => r.id)).toEqual([ids[2], ids[1]]);
      const page2 = await store.listPendingRequests(b, 'incoming', page1[1].id, 2);
      expect(page2.map((r) => r.id)).toEqual([ids[0]]);
      expect((await store.listPendingRequests(senders[0], 'outgoing', null, 5)).map((r) => r.id)).toEqual([
        ids[0],
      ]);

      const a = uid();
      const [low, high] = numericPair();
      for (const f of [high, low]) {
        const r = await store.sendRequest({ fromUserId: a, toUserId: f, message: null, remark: null });
        if (r.kind === 'created') await store.acceptRequest(r.request.id, f, null);
      }
      expect((await store.listFriends(a, true, null, 10)).map((f) => f.friendId)).toEqual([low, high]);
      expect((await store.listFriends(a, true, low, 10)).map((f) => f.friendId)).toEqual([high]);
      await store.block(a, high);
      await store.block(a, low);
      expect(await store.listBlocked(a, null, 10)).toEqual([low, high]);
      expect(await store.listBlocked(a, low, 10)).toEqual([high]);
    });

    it('makes one friendship of requests sent both ways at once, leaving none pending', async () => {
      for (let round = 0; round < 5; round++) {
        const [a, b] = [await newUser(), await newUser()];
        const outcomes = await Promise.all([
          store.sendRequest({ fromUserId: a, toUserId: b, message: null, remark: 'B' }),
          store.sendRequest({ fromUserId: b, toUserId: a, message: null, remark: 'A' }),
        ]);
        expect(outcomes.map((o) => o.kind).sort()).toEqual(['accepted_reverse', 'created']);
        expect(await store.findFriendship(a, b)).toMatchObject({ remark: 'B' });
        expect(await store.findFriendship(b, a)).toMatchObject({ remark: 'A' });
        expect(await store.listPendingRequests(a, 'incoming', null, 5)).toEqual([]);
        expect(await store.listPendingRequests(b, 'incoming', null, 5)).toEqual([]);
      }
    });

    it('lists, hides, updates and deletes friendships', async () => {
      const [a, b, c] = [uid(), uid(), uid()].sort((x, y) => Number(x) - Number(y));
      for (const f of [b, c]) {
        const r = await store.sendRequest({ fromUserId: a, toUserId: f, message: null, remark: null });
        if (r.kind === 'created') await store.acceptRequest(r.request.id, f, null);
      }
      expect(await store.updateFriendship(a, b, { hidden: true, remark: 'hidden one' })).toMatchObject({
        hidden: true,
        remark: 'hidden one',
      });
      expect((await store.listFriends(a, false, null, 10)).map((f) => f.friendId)).toEqual([c]);
      expect((await store.listFriends(a, true, null, 10)).map((f) => f.friendId)).toEqual([b, c]);
      expect((await store.listFriends(a, true, b, 10)).map((f) => f.friendId)).toEqual([c]);
      expect([...(await store.friendsAmong(a, [b, c, uid()]))].sort()).toEqual([b, c].sort());
      await store.block(a, c);
      expect((await store.friendIds(a, true)).sort()).toEqual([b]);
      expect((await store.friendIds(a)).sort()).toEqual([b, c].sort());
      expect(await store.deleteFriendship(b, a)).toBe(true);
      expect(await store.deleteFriendship(b, a)).toBe(false);
      expect(await store.findFriendship(a, b)).toBeNull();
      expect(await store.updateFriendship(a, b, { remark: 'x' })).toBeNull();
    });
  });
}

/** The behaviour every GroupsStore implementation must show. */
export function groupsStoreContract(
  name: string,
  open: () => Promise<{ store: GroupsStore; close: () => Promise<void> }>,
  needs: Server[] = [],
) {
  describeWith(...needs)(`GroupsStore contract: ${name}`, () => {
    let store: GroupsStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(async () => {
      await close();
    });

    const newGroup = (ownerId: string, memberIds: string[] = [], maxMembers = 10) =>
      store.createGroup({ name: 'G', avatar: null, ownerId, maxMembers, joinPolicy: 'open', memberIds });

    it('creates a group with its owner and members counted', async () => {
      const [o, m] = [uid(), uid()];
      const g = await newGroup(o, [m]);
      expect(g).toMatchObject({
        ownerId: o,
        memberCount: 2,
        maxMembers: 10,
        joinPolicy: 'open',
        mutedAll: false,
      });
      expect(await store.findMember(g.id, o)).toMatchObject({ role: 'owner' });
      expect(await store.findMember(g.id, m)).toMatchObject({
        role: 'member',
        nickname: null,
        mutedUntil: null,
      });
      expect(await store.groupIdsOf(m)).toEqual([g.id]);
      expect((await store.memberIds(g.id, ['owner', 'admin'])).sort()).toEqual([o]);
    });

    it('adds members all or nothing, leaving out members and banned users', async () => {
      const [o, m, banned, x, y] = [uid(), uid(), uid(), uid(), uid()];
      const g = await newGroup(o, [m], 4);
      await store.removeMember(g.id, banned, { by: o });
      expect(await store.isBanned(g.id, banned)).toBe(true);
      expect(await store.addMembers(g.id, [m, banned, x, y, uid()])).toMatchObject({ kind: 'full' });
      const added = await store.addMembers(g.id, [m, banned, x, y]);
      expect(added).toMatchObject({ kind: 'added', banned: [banned], existing: [m] });
      expect(added.kind === 'added' && added.added.map((a) => a.userId).sort()).toEqual([x, y].sort());
      expect((await store.findGroup(g.id))?.memberCount).toBe(4);
      expect(await store.addMembers(g.id, [uid()])).toMatchObject({ kind: 'full' });
    });

    it('removes with and without a ban, keeping the count right', async () => {
      const [o, m1, m2] = [uid(), uid(), uid()];
      const g = await newGroup(o, [m1, m2]);
      expect(await store.removeMember(g.id, m1, null)).toBe(true);
      expect(await store.removeMember(g.id, m1, null)).toBe(false);
      expect(await store.removeMember(g.id, m2, { by: o })).toBe(true);
      expect(await store.isBanned(g.id, m1)).toBe(false);
      expect(await store.isBanned(g.id, m2)).toBe(true);
      expect((await store.findGroup(g.id))?.memberCount).toBe(1);
    });

    it('updates members, transfers ownership, sets mute-all and refuses maxMembers below the count', async () => {
      const [o, m] = [uid(), uid()];
      const g = await newGroup(o, [m]);
      const until = new Date(Date.now() + 60_000);
      expect(
        await store.updateMember(g.id, m, { nickname: 'n', mutedUntil: until, role: 'admin' }),
      ).toMatchObject({
        nickname: 'n',
        role: 'admin',
      });
      expect((await store.findMember(g.id, m))?.mutedUntil?.getTime()).toBe(until.getTime());
      expect(await store.updateMember(g.id, uid(), { nickname: 'x' })).toBeNull();
      expect(await store.transfer(g.id, o, uid())).toBe(false);
      expect(await store.transfer(g.id, o, m)).toBe(true);
      expect(await store.findMember(g.id, m)).toMatchObject({ role: 'owner', mutedUntil: null });
      expect(await store.findMember(g.id, o)).toMatchObject({ role: 'admin' });
      expect((await store.findGroup(g.id))?.ownerId).toBe(m);
      expect((await store.setMutedAll(g.id, true))?.mutedAll).toBe(true);
      expect(await store.updateGroup(g.id, { maxMembers: 1 })).toEqual({ kind: 'below_count' });
      expect(await store.updateGroup(g.id, { name: 'H', announcement: 'a', maxMembers: 2 })).toMatchObject({
        kind: 'ok',
        group: { name: 'H', announcement: 'a', maxMembers: 2 },
      });
      expect(await store.groupSnapshot(g.id)).toMatchObject({ exists: true, mutedAll: true });
    });

    it('handles join requests: one pending per user, approve, reject, banned, full', async () => {
      const [o, u1, u2, u3] = [uid(), uid(), uid(), uid()];
      const g = await newGroup(o, [], 2);
      const r1 = await store.createJoinRequest(g.id, u1, 'hi');
      expect((await store.createJoinRequest(g.id, u1, null)).id).toBe(r1.id);
      const r2 = await store.createJoinRequest(g.id, u2, null);
      const r3 = await store.createJoinRequest(g.id, u3, null);
      expect((await store.listJoinRequests(g.id, null, 10)).map((r) => r.id)).toEqual([r1.id, r2.id, r3.id]);
      expect(await store.approveJoinRequest(g.id, r1.id, o)).toMatchObject({
        kind: 'approved',
        member: { userId: u1 },
      });
      expect(await store.approveJoinRequest(g.id, r1.id, o)).toEqual({ kind: 'not_found' });
      expect(await store.approveJoinRequest(g.id, r2.id, o)).toEqual({ kind: 'full' });
      expect(await store.rejectJoinRequest(g.id, r2.id, o)).toMatchObject({ id: r2.id, status: 'rejected' });
      expect(await store.rejectJoinRequest(g.id, r2.id, o)).toBeNull();
      await store.removeMember(g.id, u1, null);
      await store.removeMember(g.id, u3, { by: o });
      expect(await store.approveJoinRequest(g.id, r3.id, o)).toEqual({ kind: 'not_found' });
      expect(await store.findMember(g.id, u3)).toBeNull();
    });

    it('never passes maxMembers when members are added concurrently', async () => {
      const g = await newGroup(uid(), [], 5);
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.addMembers(g.id, [uid()])));
      expect(outcomes.filter((o) => o.kind === 'added')).toHaveLength(4);
      expect(outcomes.filter((o) => o.kind === 'full')).toHaveLength(6);
      expect((await store.findGroup(g.id))?.memberCount).toBe(5);
      expect(await store.listMembers(g.id, null, 50)).toHaveLength(5);
    });

    it('judges a guarded role change on the roles that hold after a concurrent transfer: one owner always', async () => {
      // The owner demotes an admin while handing the group to that admin: whichever runs first, the guard
      // (only the owner may change roles, and not the owner's) sees the roles of that moment.
      const onlyOwnerOnNonOwner = (actorId: string) => ({
        actorId,
        check: (actor: { role: string } | null, target: { role: string } | null) => {
          if (actor?.role !== 'owner') throw new Error('not the owner');
          if (target?.role === 'owner') throw new Error('target is the owner');
        },
      });
      for (let round = 0; round < 6; round++) {
        const [o, a, m] = [uid(), uid(), uid()];
        const g = await newGroup(o, [a, m]);
        await store.updateMember(g.id, a, { role: 'admin' });
        const changes = [
          store.transfer(g.id, o, a),
          store.updateMember(g.id, a, { role: 'member' }, onlyOwnerOnNonOwner(o)),
        ];
        await Promise.allSettled(round % 2 ? changes.reverse() : changes);
        const owners = (await store.listMembers(g.id, null, 10)).filter((x) => x.role === 'owner');
        expect(owners).toHaveLength(1);
        expect((await store.findGroup(g.id))?.ownerId).toBe(owners[0].userId);
        expect(await store.memberIds(g.id, ['owner'])).toEqual([owners[0].userId]);
      }
    });

    it('refuses through the guard without changing anything', async () => {
      const [o, m] = [uid(), uid()];
      const g = await newGroup(o, [m]);
      const refuse = {
        actorId: m,
        check: () => {
          throw new Error('refused');
        },
      };
      await expect(store.updateMember(g.id, o, { role: 'member' }, refuse)).rejects.toThrow('refused');
      await expect(store.removeMember(g.id, o, { by: m }, refuse)).rejects.toThrow('refused');
      await expect(store.dissolve(g.id, refuse)).rejects.toThrow('refused');
      expect(await store.findMember(g.id, o)).toMatchObject({ role: 'owner' });
      expect(await store.isBanned(g.id, o)).toBe(false);
      expect(await store.findGroup(g.id)).toMatchObject({ memberCount: 2 });
    });

    it("lists members and a user's groups by numeric id, paging after one", async () => {
      const [low, high] = numericPair();
      const o = uid();
      const g = await newGroup(o, [high, low]);
      const members = (await store.listMembers(g.id, null, 10)).map((x) => x.userId);
      expect(members.filter((id) => id === low || id === high)).toEqual([low, high]);
      expect((await store.listMembers(g.id, low, 10)).map((x) => x.userId)).toContain(high);
      expect((await store.listMembers(g.id, high, 10)).map((x) => x.userId)).not.toContain(low);
      const g2 = await newGroup(o);
      expect((await store.listGroupsOf(o, null, 10)).map((x) => x.id)).toEqual([g.id, g2.id]);
      expect((await store.listGroupsOf(o, g.id, 10)).map((x) => x.id)).toEqual([g2.id]);
      expect((await store.findGroups([g2.id, g.id, '999999999'])).map((x) => x.id).sort()).toEqual(
        [g.id, g2.id].sort(),
      );
    });

    it('dissolves: returns who was in it, and the group is gone everywhere', async () => {
      const [o, m] = [uid(), uid()];
      const g = await newGroup(o, [m]);
      expect((await store.dissolve(g.id))?.sort()).toEqual([o, m].sort());
      expect(await store.dissolve(g.id)).toBeNull();
      expect(await store.findGroup(g.id)).toBeNull();
      expect(await store.findGroups([g.id])).toEqual([]);
      expect(await store.groupIdsOf(o)).toEqual([]);
      expect(await store.groupSnapshot(g.id)).toEqual({ exists: false, mutedAll: false, members: [] });
      expect(await store.addMembers(g.id, [uid()])).toEqual({ kind: 'not_found' });
    });
  });
}
