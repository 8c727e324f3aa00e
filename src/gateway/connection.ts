import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { Config } from '../config';
import { AppError, NotFoundError, RateLimitedError, toAppError, ValidationError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { errorEvent, FrameError, parseClientFrame } from './frames';
import type { ClientFrame, FrameContext, FrameHandler, FrameRouter, ServerEvent } from './gateway.types';

/** Close codes the gateway uses (see docs/websocket.md). */
export const CloseCode = {
  GoingAway: 1001,
  PolicyViolation: 1008,
  TooBig: 1009,
  TryAgainLater: 1013,
  /** The token was revoked (logout, password change) or expired: log in again, never reconnect with it. */
  TokenInvalid: 4001,
  /** The account was disabled or deleted: do not reconnect. */
  AccountInactive: 4003,
} as const;

/** Rejected frames a connection may accumulate (in seconds of its frame budget) before it is closed. */
const STRIKE_SECONDS = 5;

const TEXT = { binary: false };

/**
 * One client connection. Its state lives on the socket object itself and its listeners are shared
 * module-level functions, so an idle connection costs only what `ws` and the TCP socket need.
 */
export class GatewaySocket extends WebSocket {
  io: ConnectionIO | null = null;
  userId = '';
  connectionId = '';
  alive = true;
  tokens = 0;
  refilledAt = 0;
  strikes = 0;
  /** The token's id, issue time and expiry (ms): revocations and expiry end the connection. */
  jti = '';
  issuedAt = 0;
  expiresAt = 0;
  /** Whether the TCP socket is corked until the current callback's promise reactions are done (see `ConnectionIO.write`). */
  corked = false;
  /** When the connection opened (ms), for the close log line. */
  openedAt = 0;
  /** The close code and reason the server chose (0 while the server has not closed it), for the close log line. */
  closeCode = 0;
  closeReason = '';
}

/** The TCP socket under a WebSocket (`ws` keeps it as `_socket`; null once it is gone). */
function tcpOf(ws: WebSocket): Duplex | null {
  return (ws as unknown as { _socket?: Duplex | null })._socket ?? null;
}

function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const ws = this as GatewaySocket;
  // A closing connection (revoked token, rate abuse, ...) may still receive frames until the handshake ends.
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.alive = true;
  ws.io?.handleFrame(ws, data, isBinary);
}

function onSocketPong(this: WebSocket): void {
  (this as GatewaySocket).alive = true;
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as GatewaySocket).io?.closed(this as GatewaySocket, code, reason);
}

function onSocketError(this: WebSocket, err: Error): void {
  (this as GatewaySocket).io?.socketError(this as GatewaySocket, err);
}

/** Closes a connection, remembering the code and reason for its close log line. */
export function closeWith(ws: GatewaySocket, code: number, reason: string): void {
  if (ws.closeCode === 0) {
    ws.closeCode = code;
    ws.closeReason = reason;
  }
  ws.close(code, reason);
}

/** Cuts a connection without a close handshake (the client sees 1006), remembering why. */
export function terminateWith(ws: GatewaySocket, reason: string): void {
  if (ws.closeCode === 0) {
    ws.closeCode = 1006;
    ws.closeReason = reason;
  }
  ws.terminate();
}

/** The close code `ws` sends for a protocol error: 1009 for an oversized frame, 1007 for bad UTF-8, else 1002. */
function protocolCloseCode(err: Error): number {
  const code = (err as Error & { code?: string }).code;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 1009;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  return 1002;
}

export interface ConnectionIODeps {
  ws: Config['ws'];
  metrics: Metrics;
  logger: Logger;
  /** A dependency out of reach failed a frame: a warning at a bounded rate. */
  outageWarning: (err: AppError, fields: Record<string, unknown>) => void;
  /** A connection closed (by either side). */
  onClose: (ws: GatewaySocket, code: number, reason: Buffer) => void;
}

/**
 * What every connection of an instance does: frames in (rate, parsing, dispatch to the registered
 * handlers) and frames out (writes batched per socket, closing a connection that does not read).
 */
export class ConnectionIO implements FrameRouter {
  private readonly handlers = new Map<string, FrameHandler>();
  /** Sockets corked by `write` since the last flush. */
  private corkedSockets: GatewaySocket[] = [];

  constructor(private readonly deps: ConnectionIODeps) {}

  /** Starts serving an upgraded socket: its identity, frame budget and listeners. */
  open(ws: GatewaySocket, userId: string, connectionId: string): void {
    ws.io = this;
    ws.userId = userId;
    ws.connectionId = connectionId;
    ws.tokens = this.deps.ws.framesPerSecond;
    ws.refilledAt = Date.now();
    ws.openedAt = ws.refilledAt;
    ws.on('message', onSocketMessage);
    ws.on('pong', onSocketPong);
    ws.on('close', onSocketClose);
    ws.on('error', onSocketError);
  }

  /** Registers the handler of a client frame type (`ping` is answered here). */
  onFrame(type: string, handler: FrameHandler): void {
    if (type === 'ping' || this.handlers.has(type)) throw new Error(`frame type ${type} already handled`);
    this.handlers.set(type, handler);
  }

  /** Handles one client frame (called by the socket's shared listener). */
  handleFrame(ws: GatewaySocket, data: RawData, isBinary: boolean): void {
    const { metrics } = this.deps;
    if (!this.takeToken(ws)) return;
    if (isBinary) {
      this.send(ws, errorEvent(null, new ValidationError('Binary frames are not supported')));
      return;
    }
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(data.toString());
    } catch (err) {
      const fe = err as FrameError;
      metrics.wsFramesReceived.inc({ type: 'invalid' });
      this.send(ws, errorEvent(fe.frameId, fe.error));
      return;
    }
    const id = frame.id ?? null;
    if (frame.type === 'ping') {
      metrics.wsFramesReceived.inc({ type: 'ping' });
      this.send(ws, { type: 'pong', data: {} });
      return;
    }
    const handler = this.handlers.get(frame.type);
    if (!handler) {
      metrics.wsFramesReceived.inc({ type: 'unknown' });
      this.send(ws, errorEvent(id, new NotFoundError(`Unknown frame type ${frame.type}`, 'UNKNOWN_FRAME')));
      return;
    }
    metrics.wsFramesReceived.inc({ type: frame.type });
    const ctx: FrameContext = {
      userId: ws.userId,
      connectionId: ws.connectionId,
      reply: (event) => this.send(ws, event),
    };
    Promise.resolve()
      .then(() => handler(ctx, frame))
      .catch((err: unknown) => {
        const app = toAppError(err);
        if (app.status === 503) this.deps.outageWarning(app, { frameType: frame.type });
        else if (!(err instanceof AppError)) {
          this.deps.logger.error({ err, frameType: frame.type, userId: ws.userId }, 'frame handler failed');
        }
        this.send(ws, errorEvent(id, app));
      });
  }

  /** The socket closed: hands it to the owner of the connection table. */
  closed(ws: GatewaySocket, code: number, reason: Buffer): void {
    this.deps.onClose(ws, code, reason);
  }

  /** Logs a protocol error of one connection (ws closes it with the matching code). */
  socketError(ws: GatewaySocket, err: Error): void {
    if (ws.closeCode === 0) {
      ws.closeCode = protocolCloseCode(err);
      ws.closeReason = err.message;
    }
    this.deps.logger.debug({ err: err.message, userId: ws.userId }, 'websocket protocol error');
  }

  /** Serialises and writes one event, counting it. */
  send(ws: GatewaySocket, event: ServerEvent): void {
    if (this.write(ws, Buffer.from(JSON.stringify(event)))) {
      this.deps.metrics.wsEvents.inc({ type: event.type });
    }
  }

  /** Writes a serialised frame; closes with 1013 a connection whose send buffer is already past the limit. */
  write(ws: GatewaySocket, payload: Buffer): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount > this.deps.ws.maxBufferedBytes) {
      this.deps.metrics.wsSlowClosed.inc();
      closeWith(ws, CloseCode.TryAgainLater, 'send buffer full; re-sync');
      return false;
    }
    if (!ws.corked) {
      // Frames written to one socket while one I/O callback and the promise reactions it sets off run (the
      // acks and events of a committed batch, say) leave in one system call: the socket stays corked until
      // the microtask queue is drained (a nextTick callback runs only after that), not for a whole loop turn.
      const tcp = tcpOf(ws);
      if (tcp) {
        tcp.cork();
        ws.corked = true;
        this.corkedSockets.push(ws);
        if (this.corkedSockets.length === 1) process.nextTick(this.uncorkAll);
      }
    }
    ws.send(payload, TEXT);
    return true;
  }

  private readonly uncorkAll = (): void => {
    const list = this.corkedSockets;
    this.corkedSockets = [];
    for (const ws of list) {
      ws.corked = false;
      tcpOf(ws)?.uncork();
    }
  };

  /** Token bucket of `framesPerSecond`; refusals accumulate as strikes that decay at half that rate. */
  private takeToken(ws: GatewaySocket): boolean {
    const rate = this.deps.ws.framesPerSecond;
    if (rate === 0) return true;
    const now = Date.now();
    const elapsed = (now - ws.refilledAt) / 1000;
    ws.refilledAt = now;
    ws.tokens = Math.min(rate, ws.tokens + elapsed * rate);
    if (ws.strikes > 0) ws.strikes = Math.max(0, ws.strikes - (elapsed * rate) / 2);
    if (ws.tokens >= 1) {
      ws.tokens -= 1;
      return true;
    }
    ws.strikes += 1;
    this.deps.metrics.wsFramesReceived.inc({ type: 'rate_limited' });
    if (ws.strikes > rate * STRIKE_SECONDS) {
      closeWith(ws, CloseCode.PolicyViolation, 'frame rate limit exceeded');
    } else {
      this.send(ws, errorEvent(null, new RateLimitedError(1 / rate, 'Too many frames; slow down')));
    }
    return false;
  }
}
