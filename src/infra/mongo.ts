import mongoose, { type Connection } from 'mongoose';

export type { Connection } from 'mongoose';

/** Opens a dedicated mongoose connection (never the global one) and waits until it is usable. */
export async function createMongoConnection(uri: string): Promise<Connection> {
  const conn = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: 10_000,
    maxPoolSize: 20,
    autoIndex: false,
    autoCreate: false,
  });
  await conn.asPromise();
  return conn;
}

/** Closes the connection, letting in-flight operations finish. */
export async function closeMongoConnection(conn: Connection): Promise<void> {
  await conn.close();
}

/** True for MongoDB's duplicate-key error (E11000). */
export function isMongoDuplicateKey(err: unknown): boolean {
  const e = err as { code?: number; writeErrors?: Array<{ code?: number }> };
  return e?.code === 11000 || Boolean(e?.writeErrors?.some((w) => w.code === 11000));
}
