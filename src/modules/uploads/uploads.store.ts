/** What an upload is, as the bytes said. */
export type UploadKind = 'image' | 'voice' | 'video' | 'file';

export const UPLOAD_KINDS: readonly UploadKind[] = ['image', 'voice', 'video', 'file'];

/** One stored upload's metadata (the bytes are in the storage engine under `storageKey`). */
export interface UploadRecord {
  id: string;
  ownerId: string;
  kind: UploadKind;
  mime: string;
  size: number;
  name: string;
  width: number | null;
  height: number | null;
  duration: number | null;
  storageKey: string;
  thumbKey: string | null;
  thumbSize: number | null;
  createdAt: Date;
}

/** A message that refers to an upload. */
export interface UploadRef {
  uploadId: string;
  messageId: string;
  conversationId: string;
}

/** Upload metadata and message references. Every implementation passes `test/uploads/store.contract.ts`. */
export interface UploadStore {
  /** Stores a new upload's metadata. */
  insert(upload: UploadRecord): Promise<void>;
  /** The upload with this id; null when none. */
  findById(id: string): Promise<UploadRecord | null>;
  /** Bytes the user keeps stored (files and thumbnails). */
  bytesOf(ownerId: string): Promise<number>;
  /** Records that a message refers to an upload (no-op when already recorded). */
  addRef(ref: UploadRef): Promise<void>;
  /** Forgets every reference of this message (e.g. it was recalled). */
  removeRefsOfMessage(messageId: string): Promise<void>;
  /** The messages that refer to the upload, oldest first, at most `limit`. */
  refsOf(uploadId: string, limit: number): Promise<UploadRef[]>;
  /** Up to `limit` uploads made before `before` that no message refers to. */
  orphans(before: Date, limit: number): Promise<UploadRecord[]>;
  /** Deletes the upload's metadata and references; false when it was already gone. */
  delete(id: string): Promise<boolean>;
  /** Whether any upload still uses this blob key (as its file or its thumbnail). */
  keyInUse(key: string): Promise<boolean>;
}
