/**
 * The one pattern language for `<registry>/<repository>` paths: token scopes (`read:<pattern>`),
 * trust rules (`trust.repositories[].pattern`) and every other rule that names repositories.
 *
 * - `*` matches any characters inside one path segment (never `/`);
 * - `?` matches exactly one character other than `/`;
 * - `**` as a whole segment matches zero or more segments: `local/app/**` matches `local/app`,
 *   `local/app/web` and `local/app/web/v2`; `**\/web` matches `web` at any depth; `**` alone
 *   matches everything;
 * - `**` inside a segment (`a**b`) means `*` twice, i.e. still one segment;
 * - every other character matches itself; matching is case-sensitive (registry and repository
 *   names are lowercase by the distribution spec) and anchored at both ends.
 *
 * The same regular-expression source is used in JavaScript and in Postgres (`~`, ARE syntax), so
 * what a scope hides in SQL and what it hides in memory cannot differ.
 */
export function patternSource(pattern: string): string {
  const segments = pattern.split('/');
  let re = '';
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '**') {
      // Zero or more whole segments, with the separators that go with them.
      if (segments.length === 1) re += '.*';
      else if (last) re += '(?:/.*)?';
      else if (i === 0) re += '(?:[^/]+/)*';
      else re += '/(?:[^/]+/)*';
      return;
    }
    if (i > 0 && segments[i - 1] !== '**') re += '/';
    for (const c of seg) {
      if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += /[a-zA-Z0-9_-]/.test(c) ? c : `\\${c}`;
    }
  });
  return `^${re}$`;
}

/**
 * The pattern as a JavaScript regular expression. Dot-all (`s`), so `.` matches line terminators
 * as it does in Postgres: the two engines agree on every path, not only on well-formed ones.
 */
export function patternRegExp(pattern: string): RegExp {
  return new RegExp(patternSource(pattern), 's');
}

/** A compiled set of patterns: a path matches when any pattern does. */
export interface PatternSet {
  readonly patterns: readonly string[];
  test(path: string): boolean;
  /** One regular expression for Postgres' `~` that matches exactly the same paths. */
  readonly sql: string;
}

export function compilePatterns(patterns: readonly string[]): PatternSet {
  const sources = patterns.map((p) => patternSource(p).slice(1, -1));
  const sql = sources.length === 0 ? '^(?!x)x$' : `^(?:${sources.map((s) => `(?:${s})`).join('|')})$`;
  const res = patterns.map(patternRegExp);
  return {
    patterns: [...patterns],
    test: (path) => res.some((re) => re.test(path)),
    sql,
  };
}

export function matchesPattern(pattern: string, path: string): boolean {
  return patternRegExp(pattern).test(path);
}
