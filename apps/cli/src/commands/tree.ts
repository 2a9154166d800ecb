import type { Command } from 'commander';
import { EXIT, UsageError, type Done } from '../exit.js';
import { fit, outputMode, outputOptions, shortDigest, shortType, type OutputOptions } from '../format.js';
import { resolveDigest, serviceFailure, ServiceClient, type CliIo, type ServiceTarget } from '../http.js';

interface Verification {
  status: string;
  reason: string | null;
  identity: string | null;
  issuer: string | null;
  keyId: string | null;
  authority: string | null;
}

export interface TreeNode {
  digest: string;
  edgeKind: string;
  artifactType: string | null;
  kind: string;
  annotations: Record<string, string>;
  verification: Verification[];
  attestations: Array<{ predicateType: string; builderId: string | null }>;
  referrers: TreeNode[];
}

interface ReferrersPage {
  subject: string;
  referrers: TreeNode[];
  children?: Array<{ digest: string; mediaType?: string; platform?: { os?: string; architecture?: string } }>;
}

export interface TreeOptions extends ServiceTarget, OutputOptions {
  depth: string;
}

function badge(v: Verification[]): string {
  if (v.length === 0) return '';
  const good = v.find((x) => x.status === 'verified');
  if (good) return `  ✔ ${good.authority ?? '?'}: ${good.identity ?? good.keyId ?? '?'}`;
  const first = v[0]!;
  if (first.status === 'no_authority') return '  ? no matching authority';
  if (first.status === 'pending') return '  … pending';
  return `  ✘ ${first.status}: ${first.reason ?? 'unknown'}`;
}

/**
 * The graph as `oras discover` draws it: one line per referrer with its kind, artifact type,
 * digest and verification; no timestamps. Compact lines fit WIDTH columns; `wide` prints in full.
 */
export function renderTree(reference: string, digest: string, page: ReferrersPage, wide = false): string {
  const line = (s: string) => (wide ? s : fit(s));
  const lines = [reference, `└── ${shortDigest(digest, wide)}`];
  const walk = (nodes: TreeNode[], prefix: string) =>
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      const preds = [...new Set(n.attestations.map((a) => a.predicateType))];
      lines.push(
        line(
          `${prefix}${last ? '└── ' : '├── '}[${n.kind}] ${shortType(n.artifactType, wide)} ` +
            `${shortDigest(n.digest, wide)}${badge(n.verification)}` +
            (preds.length ? `  {${preds.join(', ')}}` : ''),
        ),
      );
      walk(n.referrers, `${prefix}${last ? '    ' : '│   '}`);
    });
  walk(page.referrers, '    ');
  for (const c of page.children ?? []) {
    const p = c.platform ? ` ${c.platform.os ?? '?'}/${c.platform.architecture ?? '?'}` : '';
    lines.push(line(`    ⤷ child${p} ${shortDigest(c.digest, wide)}`));
  }
  return `${lines.join('\n')}\n`;
}

export async function runTree(reference: string, opts: TreeOptions, io: CliIo): Promise<number> {
  const depth = Number(opts.depth);
  if (!Number.isInteger(depth) || depth < 1 || depth > 8)
    throw new UsageError('--depth must be an integer from 1 to 8');
  const mode = outputMode(opts);
  const wide = mode === 'wide';
  const client = new ServiceClient(io.env, opts);
  try {
    const digest = await resolveDigest(client, reference);
    const page = await client.get<ReferrersPage>(
      `/api/v1/artifacts/${digest}/referrers?depth=${depth}&children=true&first=500`,
    );
    io.stdout.write(
      mode === 'json'
        ? `${JSON.stringify({ reference, digest, ...page }, null, 2)}\n`
        : renderTree(reference, digest, page, wide),
    );
    return EXIT.ok;
  } catch (err) {
    return serviceFailure(io, err, reference);
  }
}

export function registerTree(program: Command, io: CliIo, done: Done): void {
  const cmd = program
    .command('tree')
    .description('show the graph around an image: signatures, attestations, SBOMs, with verification badges')
    .argument('<reference>', '<registry-name>/<repository>[:tag|@digest], or a digest')
    .option('--depth <n>', 'levels of referrers of referrers', '3');
  outputOptions(cmd, 'complete, annotations too').action(
    async (reference: string, _opts: unknown, c: Command) => {
      done(await runTree(reference, c.optsWithGlobals<TreeOptions>(), io));
    },
  );
}
