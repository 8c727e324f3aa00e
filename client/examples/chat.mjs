// Minimal Node 20 example: sign in, follow the chat list, print every message once, send one.
//   node client/examples/chat.mjs http://localhost:3000 alice 'Passw0rd!' p:1:2 "hello"
// Build the SDK first: npm run build -w @jim/client
import WebSocket from 'ws';
import sdk from '@jim/client';

const { JimClient, unwrap } = sdk;
const [baseUrl = 'http://localhost:3000', username, password, conversationId, text] = process.argv.slice(2);

const client = new JimClient({ baseUrl, WebSocket });
await client.login({ username, password });

client.on('state', (state) => console.log('connection:', state));
client.on('message', (m) =>
  console.log(`[${m.conversationId} #${m.seq}] ${m.senderId}: ${JSON.stringify(m.content)}`),
);
client.on('outbox', (item) => console.log(`send ${item.clientMsgId}: ${item.state}`, item.error ?? ''));
client.on('unauthorized', ({ reason }) => {
  console.log('signed out:', reason);
  process.exit(1);
});

const list = await client.conversations();
for (const c of list) console.log(`${c.conversationId}: ${c.unreadCount} unread`);
client.connect();

if (conversationId && text) client.send(conversationId, 'text', { text });

const me = await unwrap(client.api.GET('/api/v1/users/me'));
console.log(`signed in as ${me.username} (#${me.id}); Ctrl-C to quit`);
