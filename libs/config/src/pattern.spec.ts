import { PATTERN_CASES as CASES } from '#testing';
import { compilePatterns, matchesPattern } from './pattern.js';

describe('repository patterns', () => {
  it.each(CASES)('%s against %s is %s', (pattern, path, expected) => {
    expect(matchesPattern(pattern, path)).toBe(expected);
    expect(compilePatterns([pattern]).test(path)).toBe(expected);
    expect(new RegExp(compilePatterns([pattern]).sql, 's').test(path)).toBe(expected);
  });

  it('a set matches when any of its patterns does, and an empty set matches nothing', () => {
    const set = compilePatterns(['local/a/**', 'ghcr/b']);
    expect(set.test('local/a/x')).toBe(true);
    expect(set.test('ghcr/b')).toBe(true);
    expect(set.test('ghcr/b/c')).toBe(false);
    const none = compilePatterns([]);
    expect(none.test('local/a')).toBe(false);
    expect(new RegExp(none.sql).test('local/a')).toBe(false);
  });
});
