import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { render, type K8sObject } from './kustomize.js';
import { readmeBlocks, readmeInlineCode } from './readme.js';

/**
 * docs/operations.md's commands and tables against deploy/kubernetes, read from the document so
 * that a changed manifest or a new row cannot drift from it: the Secret it tells you to create
 * holds exactly the keys the Deployments read, the namespace and overlay it applies are the ones
 * rendered, and every object its table describes is rendered. The manifests themselves are
 * checked in ./kubernetes.spec.ts.
 */
const DOC = 'docs/operations.md';
const shell = readmeBlocks(DOC)
  .filter((b) => b.lang === 'sh')
  .map((b) => b.body.replace(/\\\n\s*/g, ' '));
const production = render(join('deploy', 'kubernetes', 'overlays', 'production'));

/** Every secretKeyRef of the rendered Deployments, as `<secret>/<key>`. */
function secretKeys(objects: K8sObject[]): string[] {
  const refs = JSON.stringify(objects.filter((o) => o.kind === 'Deployment')).matchAll(
    /"secretKeyRef":\{"name":"([^"]+)","key":"([^"]+)"\}/g,
  );
  return [...new Set([...refs].map((m) => `${m[1]}/${m[2]}`))].sort();
}

it('the Secret it creates holds exactly the keys the Deployments read', () => {
  const create = shell.join('\n').match(/kubectl -n (\S+) create secret generic (\S+) (.*)/)!;
  const [, namespace, secret, args] = create;
  const keys = [...args!.matchAll(/--from-literal=([a-z0-9-]+)=/g)].map((m) => `${secret}/${m[1]}`);
  expect(keys.length).toBeGreaterThan(2);
  expect(keys.sort()).toEqual(secretKeys(production));
  expect(shell.join('\n')).toContain(`kubectl create namespace ${namespace}`);
  for (const o of production) expect([o.kind, o.metadata.namespace]).toEqual([o.kind, namespace]);
});

it('the overlay it applies exists, and the TLS Secret it names is the one the overlay mounts', () => {
  const dir = /kubectl apply -k (\S+)/.exec(shell.join('\n'))![1]!;
  expect(existsSync(join(dir, 'kustomization.yaml'))).toBe(true);
  const tls = /Secret (refgraph-[a-z-]+)/.exec(shell.join('\n'))![1]!;
  expect(JSON.stringify(production)).toContain(`"secretName":"${tls}"`);
});

it('every object its table describes is rendered by the production overlay', () => {
  const named = readmeInlineCode(DOC).filter((c) => /^[A-Z][A-Za-z]+\/[a-z-]+$/.test(c));
  // "`NetworkPolicy/refgraph-api`, `refgraph-worker`": a bare name after a Kind/name is of that kind.
  const text = readFileSync(DOC, 'utf8');
  const more = [...text.matchAll(/`([A-Z][A-Za-z]+)\/[a-z-]+`, `([a-z-]+)`/g)].map((m) => `${m[1]}/${m[2]}`);
  const objects = new Set(production.map((o) => `${o.kind}/${o.metadata.name}`));
  expect(named.length).toBeGreaterThanOrEqual(8);
  for (const o of [...named, ...more]) expect([o, objects.has(o)]).toEqual([o, true]);
});

it('the role commands run the entry point the image runs', () => {
  const roles = shell.join('\n').matchAll(/^REFGRAPH_ROLE=(\w+) +node (\S+)/gm);
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const found = [...roles].map((m) => [m[1], m[2]]);
  expect(found.map((r) => r[0])).toEqual(['api', 'worker']);
  for (const [, entry] of found) expect(dockerfile).toContain(entry);
});
