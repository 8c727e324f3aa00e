import type { MessageType } from './messages.store';

// The message object the contract shows, shared by the service, its events and its pushes.
/** The message object of the contract. */
export interface MessageView {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  type: MessageType;
  content: Record<string, unknown> | null;
  clientMsgId: string;
  createdAt: string;
  status: 'normal' | 'recalled';
}
