import type { FrameRouter } from '../../gateway/gateway.types';
import { runValidation } from '../../shared/validation';
import {
  plainValidSend,
  readFrameRules,
  sendRules,
  typingFrameRules,
  type MessageLimits,
} from './messages.routes';
import type { MessagesService, SendInput } from './messages.service';

/**
 * Client frames `send`, `typing` and `read`, validated with the REST rules, limited like the REST routes and
 * handled by the same service methods. A thrown AppError becomes an `error` frame carrying the frame's id.
 */
export function registerMessageFrames(
  frames: FrameRouter,
  messages: MessagesService,
  limits: MessageLimits,
): void {
  frames.onFrame('send', async (ctx, frame) => {
    const subject = { body: frame.data };
    if (!plainValidSend(frame.data)) await runValidation(subject, sendRules);
    await limits.messages.consume(ctx.userId);
    const { message } = await messages.send(ctx.userId, subject.body as SendInput, ctx.connectionId);
    ctx.reply({ type: 'ack', data: { id: frame.id ?? null, message } });
  });

  frames.onFrame('typing', async (ctx, frame) => {
    const subject = { body: frame.data };
    await runValidation(subject, typingFrameRules);
    const { conversationId } = subject.body as { conversationId: string };
    if (!(await limits.typing.tryConsume(`${ctx.userId}:${conversationId}`))) return;
    await messages.typing(ctx.userId, conversationId);
  });

  frames.onFrame('read', async (ctx, frame) => {
    const subject = { body: frame.data };
    await runValidation(subject, readFrameRules);
    const data = subject.body as { conversationId: string; seq: number };
    await messages.markRead(ctx.userId, data.conversationId, data.seq);
  });
}
