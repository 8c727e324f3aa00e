/**
 * Text lengths as the database counts them: a utf8mb4 `VARCHAR(n)` holds n code points. JavaScript's
 * `length` counts UTF-16 units (an emoji is 2), and express-validator's `isLength` neither (it skips
 * U+FE0E/U+FE0F), so every text limit of the API goes through here instead.
 */

/** The number of Unicode code points of `s` (a lone surrogate counts as one, as it is stored as U+FFFD). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** True when `s` has from `min` to `max` code points. */
export function codePointsWithin(s: string, min: number, max: number): boolean {
  // A code point is one or two UTF-16 units, so most strings are settled without counting.
  if (s.length <= max && s.length >= 2 * min) return true;
  if (s.length < min || s.length > 2 * max) return false;
  const n = codePointLength(s);
  return n >= min && n <= max;
}
