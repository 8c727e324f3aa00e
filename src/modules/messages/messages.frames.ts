import type { FrameRouter } from '../../gateway/gateway.types';
import { checkBody } from '../../shared/validation';
import type { MessagesService, SendInput } from './messages.service';
import { readFrameRules, sendRules, typingFrameRules } from './messages.validation';

/**
 * Client frames `send`, `typing` and `read`, checked by the rule sets the REST routes use and handled (rate
 * limits included) by the same service methods. A thrown AppError becomes an `error` frame carrying the
 * frame's id.
 */
export function registerMessageFrames(frames: FrameRouter, messages: MessagesService): void {
  frames.onFrame('send', async (ctx, frame) => {
    const input = checkBody<SendInput>(sendRules, frame.data);
    const { message } = await messages.send(ctx.userId, input, ctx.connectionId);
    ctx.reply({ type: 'ack', data: { id: frame.id ?? null, message } });
  });

  frames.onFrame('typing', async (ctx, frame) => {
    const data = checkBody<{ conversationId: string }>(typingFrameRules, frame.data);
    await messages.typing(ctx.userId, data.conversationId);
  });

  frames.onFrame('read', async (ctx, frame) => {
    const data = checkBody<{ conversationId: string; seq: number }>(readFrameRules, frame.data);
    await messages.markRead(ctx.userId, data.conversationId, data.seq);
  });
}
