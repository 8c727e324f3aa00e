import { privateConversationId, unwrap, type Friend, type FriendRequest, type User } from '@jim/client';
import { useEffect, useState } from 'preact/hooks';
import { Status, useAction } from './actions';
import { messageOf } from './auth';
import { Presence } from './chat';
import type { Store } from './store';

/** Friends: search by name, id or user@domain; requests both ways; accept, reject, block. */
export function FriendsView({ store }: { store: Store }) {
  const api = store.client.api;
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<User[] | null>(null);
  const [friends, setFriends] = useState<Friend[]>([]);
  const [incoming, setIncoming] = useState<FriendRequest[]>([]);
  const [outgoing, setOutgoing] = useState<FriendRequest[]>([]);
  const [blocked, setBlocked] = useState<User[]>([]);

  const load = async () => {
    const [f, i, o, b] = await Promise.all([
      unwrap(api.GET('/api/v1/friends')),
      unwrap(api.GET('/api/v1/friend-requests', { params: { query: { direction: 'incoming' } } })),
      unwrap(api.GET('/api/v1/friend-requests', { params: { query: { direction: 'outgoing' } } })),
      unwrap(api.GET('/api/v1/blocks')),
    ]);
    const list = f.items ?? [];
    for (const x of list) store.users.set(x.user.id, x.user);
    setFriends(list);
    setIncoming((i.items ?? []).filter((r) => r.status === 'pending'));
    setOutgoing((o.items ?? []).filter((r) => r.status === 'pending'));
    setBlocked((b.items ?? []) as User[]);
  };
  const { status, setStatus, act } = useAction(async () => {
    await load();
    store.refreshSoon();
  });
  useEffect(() => {
    void load().catch((err) => setStatus(messageOf(err)));
    const offs = (['friend.request', 'friend.accepted', 'friend.rejected', 'friend.removed'] as const).map(
      (t) => store.client.on(t, () => void load().catch(() => undefined)),
    );
    return () => offs.forEach((off) => off());
  }, []);

  const search = async (e: Event) => {
    e.preventDefault();
    try {
      const page = await unwrap(api.GET('/api/v1/users', { params: { query: { q: query.trim() } } }));
      setResults((page.items ?? []).filter((u) => u.id !== store.me?.id));
    } catch (err) {
      setStatus(messageOf(err));
    }
  };

  return (
    <section class="panel" aria-labelledby="friends-title">
      <h2 id="friends-title">Friends</h2>
      <form class="row" onSubmit={search} role="search">
        <label class="grow">
          Find people (name, id or user@domain)
          <input value={query} onInput={(e) => setQuery(e.currentTarget.value)} required />
        </label>
        <button type="submit">Search</button>
      </form>
      <Status text={status} />
      {results && (
        <ul class="people" aria-label="Search results">
          {results.length === 0 && <li>No one found</li>}
          {results.map((u) => (
            <li key={u.id}>
              <span class="name">
                {u.nickname || u.username} <small>#{u.id}</small>
              </span>
              <button
                onClick={() =>
                  void act(
                    'Friend request sent',
                    async () =>
                      void (await unwrap(api.POST('/api/v1/friend-requests', { body: { userId: u.id } }))),
                  )
                }
              >
                Add {u.nickname || u.username}
              </button>
            </li>
          ))}
        </ul>
      )}
      <h3>Requests to you</h3>
      <ul class="people" aria-label="Incoming requests">
        {incoming.length === 0 && <li>None</li>}
        {incoming.map((r) => (
          <li key={r.id}>
            <span class="name">
              {r.from.nickname || r.from.username}
              {r.message && <small> “{r.message}”</small>}
            </span>
            <button
              class="primary"
              onClick={() =>
                void act('Accepted', () =>
                  unwrap(
                    api.POST('/api/v1/friend-requests/{requestId}/accept', {
                      params: { path: { requestId: r.id } },
                      body: {},
                    }),
                  ),
                )
              }
            >
              Accept {r.from.nickname || r.from.username}
            </button>
            <button
              onClick={() =>
                void act('Rejected', () =>
                  unwrap(
                    api.POST('/api/v1/friend-requests/{requestId}/reject', {
                      params: { path: { requestId: r.id } },
                      body: {},
                    }),
                  ),
                )
              }
            >
              Reject
            </button>
          </li>
        ))}
      </ul>
      <h3>Your requests</h3>
      <ul class="people" aria-label="Outgoing requests">
        {outgoing.length === 0 && <li>None</li>}
        {outgoing.map((r) => (
          <li key={r.id}>
            <span class="name">{r.to.nickname || r.to.username}</span> <small>waiting</small>
          </li>
        ))}
      </ul>
      <h3>Your friends</h3>
      <ul class="people" aria-label="Friends">
        {friends.length === 0 && <li>No friends yet</li>}
        {friends.map((f) => (
          <li key={f.user.id}>
            <span class="name">
              <Presence online={store.online(f.user)} /> {f.remark || f.user.nickname || f.user.username}
            </span>
            <button
              aria-label={`Message ${f.user.nickname || f.user.username}`}
              onClick={() => void store.open(privateConversationId(store.me!.id, f.user.id))}
            >
              Message
            </button>
            <button
              onClick={() =>
                void act('Blocked', () =>
                  unwrap(api.PUT('/api/v1/blocks/{userId}', { params: { path: { userId: f.user.id } } })),
                )
              }
            >
              Block
            </button>
          </li>
        ))}
      </ul>
      <h3>Blocked</h3>
      <ul class="people" aria-label="Blocked users">
        {blocked.length === 0 && <li>None</li>}
        {blocked.map((u) => (
          <li key={u.id}>
            <span class="name">{u.nickname || u.username}</span>
            <button
              onClick={() =>
                void act('Unblocked', () =>
                  unwrap(api.DELETE('/api/v1/blocks/{userId}', { params: { path: { userId: u.id } } })),
                )
              }
            >
              Unblock
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
