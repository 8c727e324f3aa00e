export {
  JimClient,
  type JimClientOptions,
  type MessageContent,
  type WebSocketConstructor,
  type WebSocketLike,
} from './client';
export { unwrap, JimApiError, createRestClient } from './api';
export type * from './api';
export type * from './events';
export { Backoff, type BackoffOptions } from './backoff';
export { ConversationStreams } from './streams';
export { privateConversationId } from './ids';
