import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * A renderer for the subset of kustomize that deploy/kubernetes uses, so CI can check the
 * rendered objects without the kustomize binary or a cluster: `resources` (files and directories
 * with their own kustomization), `namespace`, `images` (newName/newTag/digest on containers) and
 * `patches` given as JSON6902 operation lists (add, replace, remove) with a `target`. It is not
 * kustomize: strategic-merge patches, generators, labels, name prefixes and components are
 * refused with an error rather than approximated, so a kustomization that starts using them fails
 * here until this renderer (or the real kustomize) covers them. Transformers run in kustomize's
 * order for these fields: patches, then namespace, then images. `kubectl kustomize` (kustomize
 * v5.5.0) renders deploy/kubernetes/base and overlays/production to objects deep-equal to these.
 */

export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);
/** Kinds of this deployment that are not namespaced (kustomize leaves their namespace alone). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  patches?: { path: string; target: { group?: string; version?: string; kind: string; name: string } }[];
}

export function render(dir: string): K8sObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization &
    Record<string, unknown>;
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key))
      throw new Error(`${dir}/kustomization.yaml: "${key}" is not supported by this renderer`);
  }
  let objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) objects.push(...render(path));
    else objects.push(...readObjects(path));
  }
  objects = structuredClone(objects);

  for (const p of k.patches ?? []) {
    const ops = parse(readFileSync(join(dir, p.path), 'utf8')) as unknown;
    if (!Array.isArray(ops))
      throw new Error(`${p.path}: only JSON6902 patches (a list of operations) are supported`);
    const matches = objects.filter((o) => matchesTarget(o, p.target));
    if (matches.length === 0)
      throw new Error(`${p.path}: target ${JSON.stringify(p.target)} matches nothing`);
    for (const o of matches) for (const op of ops) applyOperation(o, op as Operation, p.path);
  }
  if (k.namespace) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  for (const image of k.images ?? []) {
    for (const c of objects.flatMap(containers)) {
      const { name, tag } = splitImage(c.image);
      if (name !== image.name) continue;
      const newName = image.newName ?? name;
      c.image = image.digest ? `${newName}@${image.digest}` : `${newName}${tag(image.newTag)}`;
    }
  }
  return objects;
}

function readObjects(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${path}: ${d.errors[0]!.message}`);
    return d.toJS() as K8sObject;
  });
}

function matchesTarget(
  o: K8sObject,
  t: { group?: string; version?: string; kind: string; name: string },
): boolean {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  return (
    o.kind === t.kind &&
    o.metadata.name === t.name &&
    (t.group === undefined || t.group === group) &&
    (t.version === undefined || t.version === version)
  );
}

/** Every container of a workload's pod template (the objects `images` rewrites). */
export function containers(o: K8sObject): { name: string; image: string }[] {
  const spec = (o.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  if (!spec) return [];
  return [...((spec.initContainers as []) ?? []), ...((spec.containers as []) ?? [])];
}

function splitImage(image: string): { name: string; tag: (t?: string) => string } {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const colon = base.lastIndexOf(':');
  const hasTag = colon > base.lastIndexOf('/');
  const name = hasTag ? base.slice(0, colon) : base;
  const old = at >= 0 ? image.slice(at) : hasTag ? base.slice(colon) : '';
  return { name, tag: (t) => (t ? `:${t}` : old) };
}

interface Operation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** RFC 6902 add/replace/remove on a JSON pointer (RFC 6901), failing on a path that is not there. */
function applyOperation(target: unknown, op: Operation, source: string): void {
  if (!['add', 'replace', 'remove'].includes(op.op))
    throw new Error(`${source}: operation "${String(op.op)}" is not supported`);
  const parts = op.path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop();
  if (last === undefined) throw new Error(`${source}: empty path`);
  let node = target as Record<string, unknown> | unknown[];
  for (const part of parts) {
    const next = Array.isArray(node) ? node[Number(part)] : node[part];
    if (next === null || typeof next !== 'object')
      throw new Error(`${source}: ${op.path}: "${part}" does not exist`);
    node = next as Record<string, unknown> | unknown[];
  }
  if (Array.isArray(node)) {
    const index = last === '-' ? node.length : Number(last);
    if (
      !Number.isInteger(index) ||
      index < 0 ||
      index > node.length ||
      (op.op !== 'add' && index >= node.length)
    )
      throw new Error(`${source}: ${op.path}: index out of range`);
    if (op.op === 'add') node.splice(index, 0, structuredClone(op.value));
    else if (op.op === 'replace') node[index] = structuredClone(op.value);
    else node.splice(index, 1);
    return;
  }
  if (op.op !== 'add' && !(last in node)) throw new Error(`${source}: ${op.path} does not exist`);
  if (op.op === 'remove') delete node[last];
  else node[last] = structuredClone(op.value);
}
