import { unwrap, type Conversation, type Message, type OutgoingMessage } from '@jim/client';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from './auth';
import { preview, type Store } from './store';

const EMOJI = [
  '😀',
  '😂',
  '😊',
  '😍',
  '🤔',
  '😢',
  '😮',
  '👍',
  '👎',
  '🙏',
  '🎉',
  '❤️',
  '🔥',
  '✅',
  '👋',
  '☕',
];

/** The chat list: last message, unread count, pinned and muted marks, presence of private peers. */
export function ChatList({ store }: { store: Store }) {
  return (
    <ul class="chat-list" aria-label="Conversations">
      {store.conversations.map((c) => (
        <li key={c.conversationId}>
          <button
            class={`chat-item${store.openId === c.conversationId ? ' active' : ''}`}
            aria-current={store.openId === c.conversationId ? 'true' : undefined}
            onClick={() => void store.open(c.conversationId)}
          >
            <span class="chat-title">
              {c.peer && <Presence online={store.online(c.peer)} />}
              <span class="name">{store.title(c)}</span>
              {c.pinned && <span class="tag">Pinned</span>}
              {c.muted && <span class="tag">Muted</span>}
            </span>
            <span class="chat-last">{preview(c.lastMessage)}</span>
            {c.unreadCount > 0 && (
              <span class="badge" aria-label={`${c.unreadCount} unread`} data-testid="unread">
                {c.unreadCount}
              </span>
            )}
          </button>
        </li>
      ))}
    </ul>
  );
}

/** A presence dot: online or offline. */
export function Presence({ online }: { online: boolean }) {
  return (
    <span class={`dot ${online ? 'on' : 'off'}`} role="img" aria-label={online ? 'online' : 'offline'} />
  );
}

/** One conversation: history paged on scrolling up, live messages, pending sends, typing and read marks. */
export function ConversationView({ store, conversation }: { store: Store; conversation: Conversation }) {
  const cid = conversation.conversationId;
  const messages = store.messages.get(cid) ?? [];
  const pending = [...store.outbox.values()].filter((o) => o.conversationId === cid);
  const listRef = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const anchor = useRef<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const typing = store.typingIn(cid);
  const peerRead = store.peerRead.get(cid) ?? 0;
  const lastMine = [...messages].reverse().find((m) => m.senderId === store.me?.id);

  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    if (anchor.current !== null) {
      el.scrollTop = el.scrollHeight - anchor.current;
      anchor.current = null;
    } else if (stick.current) el.scrollTop = el.scrollHeight;
  });

  const onScroll = async () => {
    const el = listRef.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 40 && store.more.get(cid)) {
      anchor.current = el.scrollHeight - el.scrollTop;
      await store.loadOlder(cid);
    }
  };

  const toggle = async (what: 'pin' | 'mute', on: boolean) => {
    const path = what === 'pin' ? '/api/v1/conversations/{cid}/pin' : '/api/v1/conversations/{cid}/mute';
    const params = { params: { path: { cid } } };
    try {
      await unwrap(on ? store.client.api.PUT(path, params) : store.client.api.DELETE(path, params));
      await store.refresh();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const recall = async (m: Message) => {
    try {
      await unwrap(
        store.client.api.POST('/api/v1/messages/{messageId}/recall', {
          params: { path: { messageId: m.id } },
        }),
      );
      Object.assign(m, { status: 'recalled', content: {} });
      store.changed();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section class="conversation" aria-label={`Conversation with ${store.title(conversation)}`}>
      <header class="conv-header">
        <button
          class="back"
          onClick={() => ((store.openId = null), store.changed())}
          aria-label="Back to chats"
        >
          ←
        </button>
        <h2>{store.title(conversation)}</h2>
        <button aria-pressed={conversation.pinned} onClick={() => void toggle('pin', !conversation.pinned)}>
          {conversation.pinned ? 'Unpin' : 'Pin'}
        </button>
        <button aria-pressed={conversation.muted} onClick={() => void toggle('mute', !conversation.muted)}>
          {conversation.muted ? 'Unmute' : 'Mute'}
        </button>
      </header>
      <ol class="messages" ref={listRef} onScroll={() => void onScroll()} aria-label="Messages" tabIndex={0}>
        {store.more.get(cid) && <li class="more">Scroll up for older messages</li>}
        {messages.map((m) => (
          <MessageItem
            key={m.seq}
            store={store}
            message={m}
            read={m === lastMine && peerRead >= m.seq}
            onRecall={() => void recall(m)}
          />
        ))}
        {pending.map((o) => (
          <PendingItem key={o.clientMsgId} store={store} item={o} />
        ))}
      </ol>
      <p class="typing" aria-live="polite">
        {typing.length ? `${typing.map((id) => store.name(id)).join(', ')} typing…` : ''}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <Composer store={store} cid={cid} />
    </section>
  );
}

function MessageItem(props: { store: Store; message: Message; read: boolean; onRecall: () => void }) {
  const { store, message: m } = props;
  const mine = m.senderId === store.me?.id;
  const recallable = mine && m.status !== 'recalled';
  const content = m.content as Record<string, unknown>;
  let body: string;
  if (m.status === 'recalled') body = 'Message recalled';
  else if (m.type === 'text') body = String(content.text ?? '');
  else if (m.type === 'emoji') body = String(content.code ?? '[sticker]');
  else body = `[${m.type}]`;
  return (
    <li class={`msg${mine ? ' mine' : ''}${m.status === 'recalled' ? ' recalled' : ''}`} data-seq={m.seq}>
      {!mine && <span class="sender">{store.name(m.senderId)}</span>}
      <span class="body">{body}</span>
      <span class="meta">
        <time dateTime={m.createdAt}>
          {new Date(m.createdAt).toLocaleTimeString([], { timeStyle: 'short' })}
        </time>
        {props.read && <span class="read"> · Read</span>}
        {recallable && (
          <button class="link small" onClick={props.onRecall} aria-label={`Recall message: ${body}`}>
            Recall
          </button>
        )}
      </span>
    </li>
  );
}

function PendingItem({ store, item }: { store: Store; item: OutgoingMessage }) {
  return (
    <li class={`msg mine ${item.state}`}>
      <span class="body">{String(item.content.text ?? item.content.code ?? '')}</span>
      <span class="meta">
        {item.state === 'failed' ? (
          <>
            <span class="error">Not sent: {item.error?.message || item.error?.code}</span>{' '}
            <button class="link small" onClick={() => store.client.retry(item.clientMsgId)}>
              Retry
            </button>
          </>
        ) : (
          'Sending…'
        )}
      </span>
    </li>
  );
}

function Composer({ store, cid }: { store: Store; cid: string }) {
  const [text, setText] = useState('');
  const [picker, setPicker] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  useEffect(() => input.current?.focus(), [cid]);
  useEffect(() => {
    if (!picker) return;
    document.querySelector<HTMLButtonElement>('#emoji-picker button')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setPicker(false);
      input.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [picker]);

  const send = () => {
    const value = text.trim();
    if (!value) return;
    store.client.send(cid, 'text', { text: value });
    setText('');
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape') setPicker(false);
  };
  const onInput = (value: string) => {
    setText(value);
    if (Date.now() - lastTyping.current > 2500) {
      lastTyping.current = Date.now();
      store.client.typing(cid);
    }
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label class="sr-only" for="composer-text">
        Message
      </label>
      <textarea
        id="composer-text"
        ref={input}
        rows={1}
        placeholder="Message"
        value={text}
        onKeyDown={onKeyDown}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
      <button
        type="button"
        aria-label="Emoji"
        aria-expanded={picker}
        aria-controls="emoji-picker"
        onClick={() => setPicker(!picker)}
      >
        😊
      </button>
      <button type="submit" class="primary">
        Send
      </button>
      {picker && (
        <div id="emoji-picker" class="emoji-picker" role="dialog" aria-label="Emoji">
          {EMOJI.map((emoji) => (
            <button
              type="button"
              key={emoji}
              aria-label={`Insert ${emoji}`}
              onClick={() => {
                setText(text + emoji);
                setPicker(false);
                input.current?.focus();
              }}
            >
              {emoji}
            </button>
          ))}
        </div>
      )}
    </form>
  );
}
