import { compilePatterns, matchesPattern } from './pattern.js';

// One table for the one pattern language (token scopes, trust rules): [pattern, path, matches].
const CASES: Array<[string, string, boolean]> = [
  ['local/app', 'local/app', true],
  ['local/app', 'local/app/web', false],
  ['local/app', 'local/apps', false],
  ['local/*', 'local/app', true],
  ['local/*', 'local/app/web', false],
  ['local/*', 'local', false],
  ['local/app*', 'local/app-web', true],
  ['local/app*', 'local/app/web', false],
  ['local/app/**', 'local/app', true],
  ['local/app/**', 'local/app/web', true],
  ['local/app/**', 'local/app/web/v2', true],
  ['local/app/**', 'local/apps', false],
  ['local/app/**', 'local/application/x', false],
  ['**', 'local/app', true],
  ['**', 'x', true],
  ['**/web', 'web', true],
  ['**/web', 'local/app/web', true],
  ['**/web', 'local/app/webs', false],
  ['local/**/web', 'local/web', true],
  ['local/**/web', 'local/a/b/web', true],
  ['local/**/web', 'other/a/web', false],
  ['local/a?p', 'local/app', true],
  ['local/a?p', 'local/a/p', false],
  ['local/a?p', 'local/ap', false],
  ['local/a.p', 'local/a.p', true],
  ['local/a.p', 'local/axp', false],
  ['local/a+b', 'local/a+b', true],
  ['local/a+b', 'local/aab', false],
  ['local/(x)', 'local/(x)', true],
  ['local/App', 'local/app', false],
  ['team-a/**', 'team-a/x', true],
  ['team-a/**', 'team-ab/x', false],
  ['*/app?', 'ghcr/app1', true],
  ['local/**', 'local/team/app', true],
];

describe('repository patterns', () => {
  it.each(CASES)('%s against %s is %s', (pattern, path, expected) => {
    expect(matchesPattern(pattern, path)).toBe(expected);
    expect(compilePatterns([pattern]).test(path)).toBe(expected);
    expect(new RegExp(compilePatterns([pattern]).sql).test(path)).toBe(expected);
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
