import { readFileSync } from 'node:fs';

/**
 * The heap settings the container image runs refgraph with (the Dockerfile's `ENV NODE_OPTIONS`),
 * so the bench measures the service's memory as deployed; none when the Dockerfile has none.
 */
export function imageNodeOptions(dockerfile = 'Dockerfile') {
  const m = /^ENV NODE_OPTIONS="([^"]*)"/m.exec(readFileSync(dockerfile, 'utf8'));
  return m ? m[1].split(/\s+/).filter(Boolean) : [];
}
