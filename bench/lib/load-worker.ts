// A load process: opens authenticated idle WebSocket connections on command and holds them until told to close.
// Runs as a child of the bench (one process per ~10,000 sockets, the open-files limit being 20,000).
import WebSocket from 'ws';

interface OpenCommand {
  cmd: 'open';
  wsUrl: string;
  tokens: string[];
  localAddress?: string;
  concurrency: number;
}

const sockets: WebSocket[] = [];

function openOne(wsUrl: string, token: string, localAddress: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${wsUrl}/ws?token=${encodeURIComponent(token)}`, {
      perMessageDeflate: false,
      localAddress,
    });
    const done = (ok: boolean) => {
      ws.removeAllListeners('message');
      ws.removeAllListeners('unexpected-response');
      resolve(ok);
    };
    ws.once('message', (data) => {
      const ok = JSON.parse(data.toString()).type === 'ready';
      if (ok) sockets.push(ws);
      done(ok);
    });
    ws.once('unexpected-response', () => done(false));
    ws.on('error', () => done(false));
  });
}

async function open(c: OpenCommand): Promise<void> {
  const started = Date.now();
  let next = 0;
  let opened = 0;
  let failed = 0;
  const lane = async () => {
    while (next < c.tokens.length) {
      const token = c.tokens[next++];
      if (await openOne(c.wsUrl, token, c.localAddress)) opened++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.tokens.length) }, lane));
  process.send?.({ cmd: 'opened', opened, failed, ms: Date.now() - started });
}

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'open') {
    open(msg as OpenCommand).catch((err: unknown) => process.send?.({ cmd: 'error', error: String(err) }));
  } else if (msg.cmd === 'close') {
    for (const ws of sockets) ws.terminate();
    sockets.length = 0;
    process.send?.({ cmd: 'closed' });
  }
});
process.on('disconnect', () => process.exit(0));
