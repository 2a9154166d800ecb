import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/**
 * An admission example that asks about `spec.containers` only admits any image in an init or
 * ephemeral container: those run in the pod like the others (init containers first, with the
 * same service account and volumes). Every example must ask about all three lists.
 */
const LISTS = ['containers', 'initContainers', 'ephemeralContainers'];

describe('the admission examples ask about every container of a pod', () => {
  it('Kyverno: the foreach lists cover containers, initContainers and ephemeralContainers', () => {
    const policy = parseYaml(readFileSync('examples/kyverno/refgraph-verdict.yaml', 'utf8')) as {
      spec: { rules: Array<{ validate: { foreach: Array<{ list: string }> } }> };
    };
    const lists = policy.spec.rules.flatMap((r) => r.validate.foreach.map((f) => f.list)).join(' ');
    for (const field of LISTS) expect(lists).toMatch(new RegExp(`\\b${field}\\b`));
  });

  it.each([['examples/opa/refgraph.rego'], ['examples/gatekeeper/constraint-template.yaml']])(
    '%s reads all three lists',
    (file) => {
      const text = readFileSync(file, 'utf8');
      for (const field of LISTS) expect(text).toContain(`"${field}"`);
    },
  );
});
