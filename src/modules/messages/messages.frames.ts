import type { FrameRouter } from '../../gateway/gateway.types';
import { runValidation } from '../../shared/validation';
import { plainValidSend, readFrameRules, sendRules, typingFrameRules } from './messages.routes';
import type { MessagesService, SendInput } from './messages.service';

/**
 * Client frames `send`, `typing` and `read`, validated with the REST rules and handled (rate limits included)
 * by the same service methods as the REST routes. A thrown AppError becomes an `error` frame carrying the
 * frame's id.
 */
export function registerMessageFrames(frames: FrameRouter, messages: MessagesService): void {
  frames.onFrame('send', async (ctx, frame) => {
    const subject = { body: frame.data };
    if (!plainValidSend(frame.data)) await runValidation(subject, sendRules);
    const { message } = await messages.send(ctx.userId, subject.body as SendInput, ctx.connectionId);
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
