// A minimal XMPP client over WebSocket (RFC 7395) for the side-by-side benchmark: SASL PLAIN, resource
// binding, stream management (XEP-0198: the server's <a h> acknowledges what it has handled, and we answer
// its <r/> with how many stanzas we handled), initial presence, chat messages. Each WebSocket frame carries
// one whole top-level element, so stanzas are read with a few patterns instead of a streaming XML parser.
import WebSocket from 'ws';

const FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

/** Escapes text for XML character data and attribute values. */
export function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xmlUnescape(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** A received chat message. */
export interface XmppMessage {
  from: string;
  body: string;
}

/** One authenticated, bound XMPP session with stream management on. */
export class XmppSession {
  /** Stanzas the server has acknowledged (its last <a h>). */
  private acked = 0;
  /** Stanzas we sent that count for stream management (messages, presence, iq). */
  private sent = 0;
  /** Stanzas received that count for stream management. */
  private handled = 0;
  private readonly ackWaiters: Array<{ upTo: number; resolve: (ok: boolean) => void }> = [];
  /** Archive queries in flight, by query id: how many results arrived, and who waits for the end. */
  private readonly queries = new Map<string, { results: number; resolve: (n: number) => void }>();
  private nextQuery = 0;
  onMessage: (msg: XmppMessage) => void = () => undefined;

  private constructor(
    private readonly ws: WebSocket,
    readonly jid: string,
  ) {}

  /** Connects, authenticates with SASL PLAIN, binds `resource`, enables stream management, sends presence. */
  static connect(
    url: string,
    domain: string,
    user: string,
    password: string,
    resource: string,
    localAddress?: string,
  ): Promise<XmppSession> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'xmpp', { perMessageDeflate: false, localAddress });
      let step: 'features' | 'auth' | 'features2' | 'bind' | 'sm' | 'done' = 'features';
      let session: XmppSession | null = null;
      const timer = setTimeout(
        () => fail(new Error(`XMPP login of ${user} timed out in step ${step}`)),
        30_000,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      const open = () => ws.send(`<open xmlns="${FRAMING}" to="${domain}" version="1.0"/>`);
      ws.on('open', open);
      ws.on('error', fail);
      ws.on('message', (raw) => {
        const s = raw.toString();
        if (step === 'done') return session!.onFrame(s);
        if (s.startsWith('<open') || s.startsWith('<stream:stream')) return;
        if (/^<(stream:)?error|^<failure|^<close/.test(s))
          return fail(new Error(`XMPP login of ${user}: ${s}`));
        if (step === 'features' && s.startsWith('<stream:features')) {
          step = 'auth';
          const plain = Buffer.from(`\0${user}\0${password}`).toString('base64');
          ws.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">${plain}</auth>`);
        } else if (step === 'auth' && s.startsWith('<success')) {
          step = 'features2';
          open();
        } else if (step === 'features2' && s.startsWith('<stream:features')) {
          step = 'bind';
          ws.send(
            `<iq xmlns="jabber:client" type="set" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind">` +
              `<resource>${xmlEscape(resource)}</resource></bind></iq>`,
          );
        } else if (step === 'bind' && /^<iq[^>]*type=['"]result['"]/.test(s)) {
          const jid = /<jid>([^<]+)<\/jid>/.exec(s)?.[1];
          if (!jid) return fail(new Error(`XMPP bind of ${user}: ${s}`));
          session = new XmppSession(ws, xmlUnescape(jid));
          step = 'sm';
          ws.send('<enable xmlns="urn:xmpp:sm:3"/>');
        } else if (step === 'sm' && s.startsWith('<enabled')) {
          step = 'done';
          clearTimeout(timer);
          session!.stanza('<presence xmlns="jabber:client"/>');
          resolve(session!);
        }
      });
      ws.on('close', () => {
        session?.failWaiters();
        if (step !== 'done') fail(new Error(`XMPP connection of ${user} closed in step ${step}`));
      });
    });
  }

  /** Sends a chat message to a full JID; resolves true once the server acknowledged it (XEP-0198). */
  sendMessage(to: string, id: string, body: string): Promise<boolean> {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    this.stanza(
      `<message xmlns="jabber:client" to="${xmlEscape(to)}" type="chat" id="${xmlEscape(id)}">` +
        `<body>${xmlEscape(body)}</body></message>`,
    );
    const upTo = this.sent;
    return new Promise((resolve) => {
      this.ackWaiters.push({ upTo, resolve });
      this.ws.send('<r xmlns="urn:xmpp:sm:3"/>');
    });
  }

  /**
   * Asks the archive (XEP-0313 MAM) for the latest `max` messages exchanged with `withJid` (RSM `<before/>`);
   * resolves with how many arrived once the server sent `<fin>`, or -1 when it answered with an error.
   */
  mamPage(withJid: string, max: number): Promise<number> {
    const id = `q${++this.nextQuery}`;
    return new Promise((resolve) => {
      this.queries.set(id, { results: 0, resolve });
      this.stanza(
        `<iq xmlns="jabber:client" type="set" id="${id}"><query xmlns="urn:xmpp:mam:2" queryid="${id}">` +
          `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value>` +
          `</field><field var="with"><value>${xmlEscape(withJid)}</value></field></x>` +
          `<set xmlns="http://jabber.org/protocol/rsm"><max>${max}</max><before/></set></query></iq>`,
      );
    });
  }

  /** Closes the stream. */
  close(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(`<close xmlns="${FRAMING}"/>`);
    this.ws.terminate();
  }

  private stanza(xml: string): void {
    this.sent++;
    this.ws.send(xml);
  }

  private onFrame(s: string): void {
    if (s.startsWith('<a ')) {
      const h = Number(/\bh=['"](\d+)['"]/.exec(s)?.[1] ?? NaN);
      if (!Number.isFinite(h)) return;
      this.acked = Math.max(this.acked, h);
      while (this.ackWaiters.length && this.ackWaiters[0].upTo <= this.acked)
        this.ackWaiters.shift()!.resolve(true);
      return;
    }
    if (s.startsWith('<r ')) {
      this.ws.send(`<a xmlns="urn:xmpp:sm:3" h="${this.handled}"/>`);
      return;
    }
    if (/^<(message|presence|iq)\b/.test(s)) this.handled++;
    if (s.startsWith('<iq')) {
      const id = /\bid=['"]([^'"]+)['"]/.exec(s)?.[1];
      const q = id ? this.queries.get(id) : undefined;
      if (q) {
        this.queries.delete(id!);
        q.resolve(/type=['"]result['"]/.test(s) ? q.results : -1);
      }
      return;
    }
    if (!s.startsWith('<message')) return;
    const result = /<result\b[^>]*>/.exec(s)?.[0];
    if (result && result.includes('urn:xmpp:mam:2')) {
      const queryId = /\bqueryid=['"]([^'"]+)['"]/.exec(result)?.[1];
      const q = queryId ? this.queries.get(queryId) : undefined;
      if (q) q.results++;
      return;
    }
    const body = /<body>([\s\S]*?)<\/body>/.exec(s)?.[1];
    const from = /\bfrom=['"]([^'"]+)['"]/.exec(s)?.[1];
    if (body !== undefined && from) this.onMessage({ from: xmlUnescape(from), body: xmlUnescape(body) });
  }

  private failWaiters(): void {
    for (const w of this.ackWaiters.splice(0)) w.resolve(false);
    for (const q of this.queries.values()) q.resolve(-1);
    this.queries.clear();
  }
}
