// Runs inside a network namespace where nothing listens (see embedded.process.test.ts): starts the built
// server (dist/main.js) in embedded mode on a fresh DATA_DIR, registers two users, makes them friends,
// exchanges messages with pushes, restarts the server, and checks that history and friendship survived.
// Prints one JSON line with what it found; exits non-zero on the first failure.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { WebSocket: WsClient } = require('ws');

const ROOT = path.resolve(__dirname, '../..');
const dataDir = process.argv[2];
const port = Number(process.argv[3] || 3999);
const base = `http://127.0.0.1:${port}`;

function startServer() {
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    CAPTCHA_ENABLED: 'false',
    LOG_LEVEL: 'warn',
  };
  delete env.MYSQL_URL;
  delete env.REDIS_URL;
  delete env.MONGODB_URI;
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => output };
}

async function waitReady(server) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`server exited: ${server.output()}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.status === 200) return res.json();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not ready: ${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(method, url, token, body) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (res.status >= 300) throw new Error(`${method} ${url} -> ${res.status} ${text}`);
  return json;
}

function socket(token) {
  const ws = new WsClient(`${base.replace('http', 'ws')}/ws?token=${encodeURIComponent(token)}`);
  const events = [];
  const waiters = [];
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    events.push(frame);
    for (const w of [...waiters])
      if (w.match(frame)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(frame);
      }
  });
  const next = (match, what) =>
    new Promise((resolve, reject) => {
      const found = events.find(match);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no ${what} within 10 s`)), 10_000);
      waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  return { ws, events, next };
}

async function main() {
  const result = {};
  let server = startServer();
  const ready = await waitReady(server);
  result.readyz = ready;
  const alice = await api('POST', '/api/v1/auth/register', null, {
    username: 'alice',
    password: 'Passw0rd!x',
  });
  const bob = await api('POST', '/api/v1/auth/register', null, { username: 'bob', password: 'Passw0rd!x' });
  const a = socket(alice.token);
  const b = socket(bob.token);
  await a.next((f) => f.type === 'ready', 'ready (alice)');
  await b.next((f) => f.type === 'ready', 'ready (bob)');
  const request = await api('POST', '/api/v1/friend-requests', alice.token, {
    userId: bob.user.id,
    message: 'hi',
  });
  await b.next((f) => f.type === 'friend.request', 'friend.request push');
  await api('POST', `/api/v1/friend-requests/${request.id}/accept`, bob.token, {});
  await a.next((f) => f.type === 'friend.accepted', 'friend.accepted push');
  const low = [alice.user.id, bob.user.id].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
  const cid = `p:${low[0]}:${low[1]}`;
  const sent = [];
  for (let i = 0; i < 3; i++) {
    const m = await api('POST', '/api/v1/messages', alice.token, {
      conversationId: cid,
      type: 'text',
      content: { text: `hello ${i}` },
      clientMsgId: `hello-${i}`,
    });
    sent.push(m.id);
    await b.next((f) => f.type === 'message' && f.data.id === m.id, `push of message ${i} to bob`);
  }
  // One over the WebSocket too, acknowledged and pushed to the other side.
  b.ws.send(
    JSON.stringify({
      type: 'send',
      id: 'w1',
      data: { conversationId: cid, type: 'text', content: { text: 'reply' }, clientMsgId: 'reply-1' },
    }),
  );
  const ack = await b.next((f) => f.type === 'ack' && f.data.id === 'w1', 'ack of the WS send');
  sent.push(ack.data.message.id);
  await a.next(
    (f) => f.type === 'message' && f.data.id === ack.data.message.id,
    'push of the reply to alice',
  );
  result.pushed = sent.length;
  a.ws.close();
  b.ws.close();

  server.child.kill('SIGTERM');
  result.stopped = await server.exited;
  server = startServer();
  await waitReady(server);
  const login = await api('POST', '/api/v1/auth/login', null, { username: 'alice', password: 'Passw0rd!x' });
  const history = await api(
    'GET',
    `/api/v1/conversations/${encodeURIComponent(cid)}/messages?limit=50`,
    login.token,
  );
  const friends = await api('GET', '/api/v1/friends', login.token);
  result.historyIds = history.items.map((m) => m.id);
  result.sentIds = sent;
  result.friendIds = friends.items.map((f) => f.user.id);
  result.bobId = bob.user.id;
  server.child.kill('SIGTERM');
  result.stoppedAgain = await server.exited;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
