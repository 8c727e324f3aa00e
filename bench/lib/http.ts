// A small keep-alive JSON client for the bench (node:http, no fetch overhead per request).
import http from 'node:http';

/** Reply of one API call. */
export interface ApiReply<T = unknown> {
  status: number;
  body: T;
}

/** JSON over keep-alive HTTP connections to one base URL. */
export class Api {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(
    base: string,
    maxSockets = 64,
    private readonly localAddress?: string,
  ) {
    const u = new URL(base);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** One request; resolves with the status and the parsed body (null when empty), never throws on 4xx/5xx. */
  call<T = unknown>(method: string, path: string, token?: string, body?: unknown): Promise<ApiReply<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {};
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          headers,
          agent: this.agent,
          localAddress: this.localAddress,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = null;
            if (text) {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = text;
              }
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Like `call` but throws unless the status is one of `ok`. */
  async must<T = unknown>(
    method: string,
    path: string,
    token: string | undefined,
    body: unknown,
    ok: number[] = [200, 201, 204],
  ): Promise<T> {
    const r = await this.call<T>(method, path, token, body);
    if (!ok.includes(r.status)) {
      throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    }
    return r.body;
  }

  /** Closes the idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}
