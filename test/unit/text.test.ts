import { codePointLength, codePointsWithin } from '../../src/shared/text';

describe('codePointLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 1],
    ['e\u0301', 2],
    ['a\uFE0F', 2],
    ['😀', 1],
    ['👩\u200D💻', 3],
    ['𝒜𠀀', 2],
    ['\uD800', 1],
    ['\uDC00\uD800', 2],
    ['\uD800😀', 2],
  ])('counts %j as %d code points', (s, n) => {
    expect(codePointLength(s)).toBe(n);
    expect(codePointLength(s)).toBe(Array.from(s).length);
  });
});

describe('codePointsWithin', () => {
  it('agrees with counting for every length around the bounds', () => {
    for (const unit of ['a', '😀', '\uFE0F', 'a😀']) {
      for (let reps = 0; reps <= 12; reps++) {
        const s = unit.repeat(reps);
        const n = Array.from(s).length;
        for (const [min, max] of [
          [0, 4],
          [1, 5],
          [3, 3],
          [2, 8],
        ]) {
          expect([s, min, max, codePointsWithin(s, min, max)]).toEqual([s, min, max, n >= min && n <= max]);
        }
      }
    }
  });
});
