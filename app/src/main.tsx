import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AuthScreen } from './auth';
import { ChatList, ConversationView } from './chat';
import { FriendsView } from './friends';
import { GroupsView } from './groups';
import { Store, useStore, type Tab } from './store';
import './styles.css';

const store = new Store();

function App() {
  useStore(store);
  const [booting, setBooting] = useState(Boolean(store.client.getToken()));
  useEffect(() => {
    void store.resume().finally(() => setBooting(false));
    const onVisible = () => {
      if (document.visibilityState === 'visible' && store.openId) void store.markRead(store.openId);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, []);
  if (booting) return <p class="loading">Loading…</p>;
  if (!store.me) return <AuthScreen store={store} />;
  const open = store.openId ? store.conversation(store.openId) : undefined;
  const tabs: [Tab, string][] = [
    ['chats', 'Chats'],
    ['friends', 'Friends'],
    ['groups', 'Groups'],
  ];
  return (
    <div class={`shell${open && store.tab === 'chats' ? ' has-open' : ''}`}>
      <header class="top">
        <h1>JIM</h1>
        <span class={`conn ${store.connection}`} role="status">
          {store.connection === 'open'
            ? 'Connected'
            : store.connection === 'waiting'
              ? 'Reconnecting…'
              : 'Connecting…'}
        </span>
        <span class="me">{store.me.nickname || store.me.username}</span>
        <button onClick={() => void store.logout()}>Sign out</button>
      </header>
      <nav class="tabs" aria-label="Sections">
        {tabs.map(([id, label]) => (
          <button
            key={id}
            aria-current={store.tab === id ? 'page' : undefined}
            onClick={() => store.setTab(id)}
          >
            {label}
            {id === 'chats' && unreadTotal() > 0 && <span class="badge">{unreadTotal()}</span>}
          </button>
        ))}
      </nav>
      <main class="content">
        {store.tab === 'chats' && (
          <>
            <div class="sidebar">
              <h2 class="sr-only">Chats</h2>
              <ChatList store={store} />
            </div>
            {open ? (
              <ConversationView key={open.conversationId} store={store} conversation={open} />
            ) : (
              <p class="empty">Choose a conversation, or find friends in the Friends tab.</p>
            )}
          </>
        )}
        {store.tab === 'friends' && <FriendsView store={store} />}
        {store.tab === 'groups' && <GroupsView store={store} />}
      </main>
    </div>
  );
}

function unreadTotal(): number {
  return store.conversations.reduce((n, c) => n + (c.muted ? 0 : c.unreadCount), 0);
}

render(<App />, document.getElementById('root')!);
