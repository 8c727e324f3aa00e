import { unwrap, type Friend, type Group, type GroupMember } from '@jim/client';
import { useEffect, useState } from 'preact/hooks';
import { Status, useAction } from './actions';
import { messageOf } from './auth';
import type { Store } from './store';

/** Groups: create, join by id, invite friends, members and roles. */
export function GroupsView({ store }: { store: Store }) {
  const api = store.client.api;
  const [groups, setGroups] = useState<Group[]>([]);
  const [name, setName] = useState('');
  const [policy, setPolicy] = useState<'open' | 'approval' | 'invite'>('open');
  const [joinId, setJoinId] = useState('');
  const [selected, setSelected] = useState<Group | null>(null);

  const load = async () => setGroups((await unwrap(api.GET('/api/v1/groups'))).items ?? []);
  const { status, setStatus, act } = useAction(async () => {
    await load();
    store.refreshSoon();
  });
  useEffect(() => {
    void load().catch((err) => setStatus(messageOf(err)));
  }, []);

  return (
    <section class="panel" aria-labelledby="groups-title">
      <h2 id="groups-title">Groups</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void act('Group created', async () => {
            await unwrap(api.POST('/api/v1/groups', { body: { name: name.trim(), joinPolicy: policy } }));
            setName('');
          });
        }}
      >
        <label class="grow">
          New group name
          <input value={name} required maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Who may join
          <select value={policy} onChange={(e) => setPolicy(e.currentTarget.value as typeof policy)}>
            <option value="open">Anyone</option>
            <option value="approval">With approval</option>
            <option value="invite">Invited only</option>
          </select>
        </label>
        <button type="submit">Create group</button>
      </form>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void act('Joined (or asked to join)', () =>
            unwrap(
              api.POST('/api/v1/groups/{groupId}/join', { params: { path: { groupId: joinId.trim() } } }),
            ),
          );
        }}
      >
        <label class="grow">
          Join a group by id
          <input
            value={joinId}
            required
            inputMode="numeric"
            onInput={(e) => setJoinId(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Join</button>
      </form>
      <Status text={status} />
      <h3>Your groups</h3>
      <ul class="people" aria-label="Your groups">
        {groups.length === 0 && <li>None yet</li>}
        {groups.map((g) => (
          <li key={g.id}>
            <span class="name">
              {g.name}{' '}
              <small>
                #{g.id} · {g.memberCount} members
              </small>
            </span>
            <button onClick={() => void store.open(`g:${g.id}`, g)}>Open chat</button>
            <button
              aria-expanded={selected?.id === g.id}
              onClick={() => setSelected(selected?.id === g.id ? null : g)}
            >
              Members of {g.name}
            </button>
          </li>
        ))}
      </ul>
      {selected && <Members store={store} group={selected} onClose={() => setSelected(null)} />}
    </section>
  );
}

function Members({ store, group, onClose }: { store: Store; group: Group; onClose: () => void }) {
  const api = store.client.api;
  const [members, setMembers] = useState<GroupMember[]>([]);
  const [friends, setFriends] = useState<Friend[]>([]);
  const [invitee, setInvitee] = useState('');
  const path = { groupId: group.id };
  const load = async () => {
    const [m, f] = await Promise.all([
      unwrap(api.GET('/api/v1/groups/{groupId}/members', { params: { path, query: { limit: 100 } } })),
      unwrap(api.GET('/api/v1/friends')),
    ]);
    setMembers(m.items ?? []);
    setFriends(f.items ?? []);
  };
  const { status, setStatus, act } = useAction(load, false);
  useEffect(() => {
    void load().catch((err) => setStatus(messageOf(err)));
  }, [group.id]);
  const mine = members.find((m) => m.user.id === store.me?.id)?.role;
  const candidates = friends.filter((f) => !members.some((m) => m.user.id === f.user.id));
  return (
    <div
      class="members"
      role="region"
      aria-label={`Members of ${group.name}`}
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
    >
      <div class="row">
        <h3 class="grow">Members of {group.name}</h3>
        <button onClick={onClose}>Close</button>
      </div>
      <ul class="people">
        {members.map((m) => (
          <li key={m.user.id}>
            <span class="name">
              {m.nickname || m.user.nickname || m.user.username} <small>{m.role}</small>
            </span>
            {mine === 'owner' && m.role !== 'owner' && (
              <button
                onClick={() =>
                  void act('Role changed', () =>
                    unwrap(
                      api.PATCH('/api/v1/groups/{groupId}/members/{userId}', {
                        params: { path: { groupId: group.id, userId: m.user.id } },
                        body: { role: m.role === 'admin' ? 'member' : 'admin' },
                      }),
                    ),
                  )
                }
              >
                {m.role === 'admin' ? 'Make member' : 'Make admin'}
              </button>
            )}
          </li>
        ))}
      </ul>
      {candidates.length > 0 && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void act('Invited', () =>
              unwrap(
                api.POST('/api/v1/groups/{groupId}/members', {
                  params: { path },
                  body: { userIds: [invitee] },
                }),
              ),
            );
          }}
        >
          <label class="grow">
            Invite a friend
            <select value={invitee} required onChange={(e) => setInvitee(e.currentTarget.value)}>
              <option value="">Choose…</option>
              {candidates.map((f) => (
                <option key={f.user.id} value={f.user.id}>
                  {f.user.nickname || f.user.username}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Invite</button>
        </form>
      )}
      <Status text={status} />
    </div>
  );
}
