import type { FrameRouter } from '../../gateway/gateway.types';
import { runValidation } from '../../shared/validation';
import { CONVERSATION_ID_RE } from './conversation-id';
import { contentProblems, MESSAGE_TYPES } from './messages.content';
import { CLIENT_MSG_ID_RE, readFrameRules, sendRules, typingFrameRules } from './messages.routes';
import type { MessagesService, SendInput } from './messages.service';

/**
 * True when `data` is a send that `sendRules` accept as it is: exactly the four fields, each passing the
 * same checks. The common case then skips express-validator (a tenth of the server's CPU per WS send);
 * anything else still goes through `sendRules`, which also words the errors.
 */
function plainValidSend(data: unknown): data is SendInput {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return false;
  const d = data as Record<string, unknown>;
  if (Object.keys(d).length !== 4) return false;
  const { conversationId, type, content, clientMsgId } = d;
  return (
    typeof conversationId === 'string' &&
    CONVERSATION_ID_RE.test(conversationId) &&
    typeof type === 'string' &&
    (MESSAGE_TYPES as readonly string[]).includes(type) &&
    content !== undefined &&
    content !== null &&
    contentProblems(type, content).length === 0 &&
    typeof clientMsgId === 'string' &&
    CLIENT_MSG_ID_RE.test(clientMsgId)
  );
}

/**
 * Client frames `send`, `typing` and `read`, validated with the REST rules and handled by the same service
 * methods as the REST routes. A thrown AppError becomes an `error` frame carrying the frame's id.
 */
export function registerMessageFrames(frames: FrameRouter, messages: MessagesService): void {
  frames.onFrame('send', async (ctx, frame) => {
    const subject = { body: frame.data };
    if (!plainValidSend(frame.data)) await runValidation(subject, sendRules);
    const { message } = await messages.send(ctx.userId, subject.body as SendInput);
    ctx.reply({ type: 'ack', data: { id: frame.id ?? null, message } });
  });

  frames.onFrame('typing', async (ctx, frame) => {
    const subject = { body: frame.data };
    await runValidation(subject, typingFrameRules);
    await messages.typing(ctx.userId, (subject.body as { conversationId: string }).conversationId);
  });

  frames.onFrame('read', async (ctx, frame) => {
    const subject = { body: frame.data };
    await runValidation(subject, readFrameRules);
    const data = subject.body as { conversationId: string; seq: number };
    await messages.markRead(ctx.userId, data.conversationId, data.seq);
  });
}
