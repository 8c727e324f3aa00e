import WebSocket from 'ws';

/**
 * Forces a full garbage collection in a process started with `--inspect=127.0.0.1:<port>`, through the
 * DevTools protocol, so memory is compared between two collected heaps rather than at GC's whim.
 */
export async function collectGarbage(inspectPort: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    for (let i = 1; i <= 2; i++) {
      await new Promise<void>((resolve, reject) => {
        const onMessage = (data: WebSocket.RawData) => {
          const reply = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
          if (reply.id !== i) return;
          ws.off('message', onMessage);
          if (reply.error) reject(new Error(reply.error.message));
          else resolve();
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id: i, method: 'HeapProfiler.collectGarbage' }));
      });
    }
  } finally {
    ws.close();
  }
}
