import { ConfigError, parseConfig } from '#config';

const registry = {
  name: 'local',
  kind: 'distribution',
  url: 'http://127.0.0.1:5000/',
  webhook: { auth: { type: 'bearer', tokenEnv: 'HOOK_TOKEN' } },
};

describe('parseConfig', () => {
  it('resolves secrets from the environment and trims the base URL', () => {
    const cfg = parseConfig({ registries: [registry] }, { HOOK_TOKEN: 's3cret' });
    expect(cfg.registries[0]).toMatchObject({
      name: 'local',
      url: 'http://127.0.0.1:5000',
      webhookAuth: { type: 'bearer', token: 's3cret' },
      maxManifestBytes: 4 * 1024 * 1024,
    });
    expect(cfg.server.port).toBe(8080);
    expect(cfg.databaseUrl).toBeUndefined();
  });

  it('names the bad field', () => {
    expect(() => parseConfig({ registries: [{ ...registry, kind: 'nexus' }] }, { HOOK_TOKEN: 'x' })).toThrow(
      /registries\[0\]\.kind/,
    );
    expect(() => parseConfig({ registries: [{ ...registry, url: 'ftp://x' }] }, { HOOK_TOKEN: 'x' })).toThrow(
      /registries\[0\]\.url/,
    );
    expect(() => parseConfig({ registries: [registry], bogus: 1 }, { HOOK_TOKEN: 'x' })).toThrow(ConfigError);
  });

  it('refuses a secret reference whose variable is unset', () => {
    expect(() => parseConfig({ registries: [registry] }, {})).toThrow(
      /webhook\.auth\.tokenEnv: environment variable HOOK_TOKEN is not set/,
    );
  });

  it('refuses duplicate registry names', () => {
    expect(() => parseConfig({ registries: [registry, registry] }, { HOOK_TOKEN: 'x' })).toThrow(/duplicate/);
  });

  it('takes PORT and DATABASE_URL from the environment', () => {
    const cfg = parseConfig({}, { PORT: '9090', DATABASE_URL: 'postgresql://x/y' });
    expect(cfg.server.port).toBe(9090);
    expect(cfg.databaseUrl).toBe('postgresql://x/y');
    expect(() => parseConfig({}, { PORT: 'eighty' })).toThrow(/PORT/);
  });
});

describe('trust and policies', () => {
  const trust = {
    authorities: [
      {
        name: 'ci',
        keyless: {
          issuer: 'https://token.actions.githubusercontent.com',
          subjectRegExp: '^https://github.com/acme/.*$',
        },
      },
      { name: 'release-key', key: { pem: '-----BEGIN PUBLIC KEY-----\nMFk=\n-----END PUBLIC KEY-----' } },
    ],
    repositories: [{ pattern: 'local/*', authorities: ['ci', 'release-key'] }],
  };

  it('accepts authorities, repository patterns and policies that name them', () => {
    const cfg = parseConfig(
      { trust, policies: [{ name: 'prod', signatures: { authorities: ['ci'] }, sbom: true }] },
      {},
    );
    expect(cfg.trust.trustedRoot).toBe('public-good');
    expect(cfg.policies[0]).toMatchObject({ name: 'prod', sbom: true, attestations: [] });
  });

  it('trust.tuf: off when absent; defaults beside the data directory; a private mirror needs its root', () => {
    expect(parseConfig({}, {}).trust.tuf).toBeUndefined();
    expect(parseConfig({ trust: { tuf: {} } }, { REFGRAPH_DATA_DIR: '/data/postgres' }).trust.tuf).toEqual({
      cacheDir: '/data/tuf',
      refreshIntervalSeconds: 3600,
      startupTimeoutSeconds: 10,
    });
    const mirror = { mirrorUrl: 'https://tuf.example.test/repo/', rootFile: '/etc/refgraph/tuf/root.json' };
    expect(parseConfig({ trust: { tuf: mirror } }, {}).trust.tuf).toMatchObject({
      mirrorUrl: 'https://tuf.example.test/repo',
      rootFile: '/etc/refgraph/tuf/root.json',
    });
    expect(() => parseConfig({ trust: { tuf: { mirrorUrl: mirror.mirrorUrl } } }, {})).toThrow(
      /trust\.tuf: a private TUF mirror needs both mirrorUrl and rootFile/,
    );
    expect(() => parseConfig({ trust: { tuf: { ...mirror, mirrorUrl: 'file:///tuf' } } }, {})).toThrow(
      /trust\.tuf\.mirrorUrl/,
    );
    expect(() => parseConfig({ trust: { trustedRoot: '/etc/root.json', tuf: {} } }, {})).toThrow(
      /trust\.tuf\.mirrorUrl: the public-good TUF repository refreshes the public-good root/,
    );
  });

  it('refuses a keyless authority that does not pin an identity', () => {
    expect(() =>
      parseConfig({ trust: { authorities: [{ name: 'x', keyless: { issuer: 'https://i' } }] } }, {}),
    ).toThrow(/trust\.authorities\[0\]\.keyless: needs subject or subjectRegExp/);
  });

  it('refuses references to unknown authorities and bad regular expressions', () => {
    expect(() =>
      parseConfig({ trust, policies: [{ name: 'p', signatures: { authorities: ['nobody'] } }] }, {}),
    ).toThrow(/policies\[0\]\.signatures\.authorities\[0\]: unknown authority "nobody"/);
    const bad = { authorities: [{ name: 'x', keyless: { issuer: 'https://i', subjectRegExp: '(' } }] };
    expect(() => parseConfig({ trust: bad }, {})).toThrow(/subjectRegExp: invalid regular expression/);
  });

  it('accepts a notation authority with a tsa trust store; verifyTimestamp defaults to always', () => {
    const notary = { name: 'n', notation: { trustStore: ['/ca.pem'], tsaTrustStore: ['/tsa.pem'] } };
    const cfg = parseConfig({ trust: { authorities: [notary] } }, {});
    expect(cfg.trust.authorities[0]!.notation).toEqual({
      trustStore: ['/ca.pem'],
      trustedIdentities: ['*'],
      tsaTrustStore: ['/tsa.pem'],
      verifyTimestamp: 'always',
    });
    const bad = { name: 'n', notation: { trustStore: ['/ca.pem'], verifyTimestamp: 'never' } };
    expect(() => parseConfig({ trust: { authorities: [bad] } }, {})).toThrow(/verifyTimestamp/);
    const empty = { name: 'n', notation: { trustStore: ['/ca.pem'], tsaTrustStore: [] } };
    expect(() => parseConfig({ trust: { authorities: [empty] } }, {})).toThrow(/tsaTrustStore/);
  });

  it('refuses an authority that is two kinds at once', () => {
    const both = { name: 'x', key: { pem: 'k' }, keyless: { issuer: 'https://i', subject: 's' } };
    expect(() => parseConfig({ trust: { authorities: [both] } }, {})).toThrow(
      /exactly one of keyless, key or notation/,
    );
  });
});

describe('outbound isolation and caps', () => {
  it('defaults a registry budget to half the worker slots, and the timeouts and caps', () => {
    const cfg = parseConfig({ worker: { concurrency: 6 }, registries: [registry] }, { HOOK_TOKEN: 'x' });
    expect(cfg.registries[0]).toMatchObject({
      concurrency: 3,
      timeouts: { connectMs: 5_000, firstByteMs: 10_000 },
    });
    expect(cfg.limits).toEqual({ layersPerArtifact: 1_000, packagesPerArtifact: 200_000 });
    const one = parseConfig({ worker: { concurrency: 1 }, registries: [registry] }, { HOOK_TOKEN: 'x' });
    expect(one.registries[0]?.concurrency).toBe(1);
  });

  it('takes them from the file and names a bad one', () => {
    const cfg = parseConfig(
      {
        registries: [{ ...registry, concurrency: 2, timeouts: { connectMs: 800, firstByteMs: 2_500 } }],
        limits: { layersPerArtifact: 50, packagesPerArtifact: 1_000 },
      },
      { HOOK_TOKEN: 'x' },
    );
    expect(cfg.registries[0]).toMatchObject({
      concurrency: 2,
      timeouts: { connectMs: 800, firstByteMs: 2_500 },
    });
    expect(cfg.limits).toEqual({ layersPerArtifact: 50, packagesPerArtifact: 1_000 });
    expect(() => parseConfig({ registries: [{ ...registry, concurrency: 0 }] }, { HOOK_TOKEN: 'x' })).toThrow(
      /registries\[0\]\.concurrency/,
    );
    expect(() => parseConfig({ limits: { layersPerArtifact: 0 } }, {})).toThrow(/limits\.layersPerArtifact/);
  });
});

describe('worker.port', () => {
  it('is 8081 unless configured; WORKER_PORT overrides the file', () => {
    expect(parseConfig({}, {}).worker).toMatchObject({ port: 8081, host: '0.0.0.0' });
    expect(parseConfig({ worker: { port: 9100 } }, {}).worker.port).toBe(9100);
    expect(parseConfig({ worker: { port: 9100 } }, { WORKER_PORT: '9200' }).worker.port).toBe(9200);
    expect(() => parseConfig({}, { WORKER_PORT: 'x' })).toThrow(/WORKER_PORT: "x" is not a port number/);
  });
});
