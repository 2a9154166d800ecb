import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { getAdapter, WebhookError, type RegistryEvent } from '#webhooks';
import { CASES, type Named } from './webhooks.cases.js';

/** The corpus is read in place, never copied into the repository. */
const corpus = process.env.REFGRAPH_CORPUS ?? path.resolve(process.cwd(), '../shared/corpus');
const dir = path.join(corpus, 'webhooks');

const names = (e: RegistryEvent): Named => ({
  action: e.action,
  repository: e.repository,
  ...(e.digest !== undefined && { digest: e.digest }),
  ...(e.tag !== undefined && { tag: e.tag }),
});

describe('webhook corpus', () => {
  it('has an expectation for every payload file, and no expectation without a file', () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files.length).toBeGreaterThan(0);
    expect(files).toEqual(Object.keys(CASES).sort());
  });

  const cases = Object.entries(CASES).flatMap(([file, list]) => list.map((c) => [file, c.name, c] as const));

  it.each(cases)('%s: %s', (file, _name, c) => {
    const bytes = readFileSync(path.join(dir, file));
    const rawBody = c.wrap ? c.wrap(bytes) : bytes;
    const run = () => getAdapter(c.kind).parse({ headers: c.headers, rawBody });
    if ('error' in c.expected) {
      let thrown: unknown;
      try {
        run();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(WebhookError);
      expect((thrown as WebhookError).code).toBe(c.expected.error);
      expect((thrown as WebhookError).message).toMatch(c.expected.message);
      return;
    }
    const result = run();
    expect({
      events: result.events.map(names),
      ignored: result.ignored,
      ...(result.rejected && { rejected: result.rejected.map((r) => r.reason) }),
    }).toEqual(c.expected);
    expect(result.reply).toBeUndefined();
  });

  it('verifies GitHub signatures over the exact pretty-printed bytes of a real payload', () => {
    const rawBody = readFileSync(path.join(dir, 'github-registry_package-published-docker.json'));
    const secret = 'corpus-secret';
    const signature = `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
    const headers = {
      'content-type': 'application/json',
      'x-github-event': 'registry_package',
      'x-hub-signature-256': signature,
    };
    const adapter = getAdapter('ghcr');
    expect(() => adapter.authenticate({ headers, rawBody }, { type: 'hmac-sha256', secret })).not.toThrow();
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(rawBody.toString('utf8'))));
    expect(() =>
      adapter.authenticate({ headers, rawBody: reserialised }, { type: 'hmac-sha256', secret }),
    ).toThrow(WebhookError);
  });
});
