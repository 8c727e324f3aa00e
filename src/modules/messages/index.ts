/** What other modules may use of messages; they import this file, never the files behind it. */
export type { SocialPolicy, UploadAttachment, UploadAttachments } from './messages.ports';
