import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig } from '#config';
import { startupLines } from './first-run.js';
import { JsonLogger } from './logger.js';

const URL = 'http://127.0.0.1:8080';
const registry = {
  name: 'local',
  kind: 'distribution' as const,
  url: 'http://127.0.0.1:5000',
  webhook: { auth: { type: 'bearer' as const, tokenEnv: 'HOOK' } },
};

describe('start-up lines', () => {
  it('say where the explorer, IDE, docs and metrics are, and how to add a registry', () => {
    const lines = startupLines(URL, parseConfig({}, {}), true);
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn', 'warn']);
    expect(lines[0]!.msg).toBe(
      `explorer ${URL}/ui · GraphQL IDE ${URL}/graphql/ide · API docs ${URL}/docs · metrics ${URL}/metrics`,
    );
    expect(lines[1]!.msg).toMatch(
      /^no registries configured: add one under "registries:" in refgraph\.yaml \(see refgraph\.example\.yaml\)/,
    );
    expect(lines[2]!.msg).toMatch(/^reads are open to anyone who can reach http:\/\/127\.0\.0\.1:8080/);
  });

  it('name the configured registries and say when reads need a token', () => {
    const config = parseConfig(
      {
        registries: [registry],
        auth: { tokens: [{ name: 'ci', sha256: 'a'.repeat(64), scopes: ['read:local/**'] }] },
      },
      { HOOK: 'secret' },
    );
    const lines = startupLines(URL, config, false, 'deploy/refgraph.yaml');
    expect(lines.map((l) => l.level)).toEqual(['info', 'info', 'info']);
    expect(lines[1]).toMatchObject({ fields: { registries: ['local'] } });
    expect(lines[1]!.msg).toMatch(
      /^registries: local \(distribution\); webhooks at http:\/\/127\.0\.0\.1:8080\/webhooks\/<name>/,
    );
    expect(lines[2]!.msg).toBe('reads need an API token (1 configured)');
    expect(JSON.stringify(lines)).not.toContain('secret');
  });
});

describe('Nest start-up logging', () => {
  it('logs route mapping and module loading at debug, everything else as before', () => {
    const seen: Array<{ level: number; msg: string }> = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        seen.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        cb();
      },
    });
    const log = new JsonLogger(pino({ level: 'trace' }, out));
    log.log('Mapped {/api/v1/resolve, GET} route', 'RouterExplorer');
    log.log('ApiController {/api/v1}:', 'RoutesResolver');
    log.log('AppModule dependencies initialized', 'InstanceLoader');
    log.log('something the service says', 'WebhookReceiver');
    expect(seen.map((l) => [l.level, l.msg])).toEqual([
      [20, 'Mapped {/api/v1/resolve, GET} route'],
      [20, 'ApiController {/api/v1}:'],
      [20, 'AppModule dependencies initialized'],
      [30, 'something the service says'],
    ]);
  });
});
