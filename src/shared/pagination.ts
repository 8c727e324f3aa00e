/** A page of a list, as the contract shapes every list. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Turns `limit + 1` fetched rows into a page; the cursor is the key of the last item returned. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  keyOf: (row: R) => string,
  map: (page: R[]) => T[],
): Page<T>;
export function toPage<R>(rows: R[], limit: number, keyOf: (row: R) => string): Page<R>;
export function toPage<R, T>(
  rows: R[],
  limit: number,
  keyOf: (row: R) => string,
  map?: (page: R[]) => T[],
): Page<T | R> {
  const page = rows.slice(0, limit);
  return {
    items: map ? map(page) : page,
    nextCursor: rows.length > limit && page.length ? keyOf(page[page.length - 1]) : null,
  };
}

/** A numeric id cursor from `?cursor`, or null; anything that is not an id reads as "from the start". */
export function idCursor(cursor: string | undefined | null): string | null {
  return cursor && /^[1-9]\d{0,18}$/.test(cursor) ? cursor : null;
}

/** Compares two decimal ids as numbers. */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
