import { compilePatterns, type PatternSet } from '#config';
import type { RepositoryScope } from '#store';

/**
 * Who reads, as the read model needs it: the repository patterns they may read (undefined: every
 * repository). Built once per request from the authenticated principal.
 */
export class Viewer {
  private readonly patterns: PatternSet | undefined;

  constructor(
    readonly name: string,
    readonly scope: RepositoryScope,
  ) {
    this.patterns = scope === undefined ? undefined : compilePatterns(scope);
  }

  static readonly everything = (name = 'system') => new Viewer(name, undefined);

  /** May this viewer read `<registry>/<repository>`? The in-memory twin of the SQL rule. */
  mayRead(registry: string, repository: string): boolean {
    return this.patterns === undefined || this.patterns.test(`${registry}/${repository}`);
  }

  get unlimited(): boolean {
    return this.patterns === undefined;
  }
}
