import type { Command } from 'commander';
import { EXIT, UsageError, oneLine } from '../exit.js';
import { processIo, ServiceClient, ServiceError, type CliIo } from '../http.js';

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

const KEY_ANNOTATIONS = [
  'org.opencontainers.image.created',
  'dev.sigstore.bundle.predicateType',
  'in-toto.io/predicate-type',
];

function badge(v: Verification[]): string {
  if (v.length === 0) return '';
  const good = v.find((x) => x.status === 'verified');
  if (good) return ` ✔ verified by ${good.authority ?? '?'} (${good.identity ?? good.keyId ?? '?'})`;
  const first = v[0]!;
  if (first.status === 'no_authority') return ' ? no matching authority';
  if (first.status === 'pending') return ' … pending';
  return ` ✘ ${first.status}: ${first.reason ?? 'unknown'}`;
}

export function renderTree(reference: string, digest: string, page: ReferrersPage): string {
  const lines = [`${reference}`, `└── ${digest}`];
  const walk = (nodes: TreeNode[], prefix: string) =>
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      const notes = KEY_ANNOTATIONS.filter((k) => n.annotations[k]).map((k) => `${k}=${n.annotations[k]}`);
      const preds = n.attestations.map((a) => a.predicateType);
      lines.push(
        `${prefix}${last ? '└── ' : '├── '}[${n.kind}] ${n.artifactType ?? '-'} ${n.digest}${badge(n.verification)}` +
          (preds.length ? ` {${preds.join(', ')}}` : '') +
          (notes.length ? ` (${notes.join(', ')})` : ''),
      );
      walk(n.referrers, `${prefix}${last ? '    ' : '│   '}`);
    });
  walk(page.referrers, '    ');
  for (const c of page.children ?? []) {
    const p = c.platform ? ` ${c.platform.os ?? ''}/${c.platform.architecture ?? ''}` : '';
    lines.push(`    ⤷ child ${c.digest}${p}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runTree(
  reference: string,
  opts: { depth: string; output: string; url?: string },
  io: CliIo,
): Promise<number> {
  const depth = Number(opts.depth);
  if (!Number.isInteger(depth) || depth < 1 || depth > 8)
    throw new UsageError('--depth must be an integer from 1 to 8');
  if (!['text', 'json'].includes(opts.output)) throw new UsageError('--output must be text or json');
  const client = new ServiceClient(io.env, opts.url);
  try {
    const { digest } = await client.get<{ digest: string }>(
      `/api/v1/resolve?reference=${encodeURIComponent(reference)}`,
    );
    const page = await client.get<ReferrersPage>(
      `/api/v1/artifacts/${digest}/referrers?depth=${depth}&children=true&first=500`,
    );
    io.stdout.write(
      opts.output === 'json'
        ? `${JSON.stringify({ reference, digest, ...page }, null, 2)}\n`
        : renderTree(reference, digest, page),
    );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof ServiceError) {
      io.stderr.write(`${oneLine(err.message)}\n`);
      return EXIT.failed;
    }
    throw err;
  }
}

export function registerTree(program: Command): void {
  program
    .command('tree')
    .description('show the graph around an image: signatures, attestations, SBOMs, with verification badges')
    .argument('<reference>', '<registry-name>/<repository>[:tag|@digest], or a digest')
    .option('--depth <n>', 'levels of referrers of referrers', '3')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--url <url>', 'refgraph base URL (default $REFGRAPH_URL or http://127.0.0.1:8080)')
    .action(async (reference: string, opts: { depth: string; output: string; url?: string }) => {
      process.exitCode = await runTree(reference, opts, processIo());
    });
}
