import { ConfigError, parseConfig } from './load.js';

describe('database.readReplicas', () => {
  it('defaults to no replicas, a 10 s lag bound and a 2 s check', () => {
    expect(parseConfig({}, {}).readReplicas).toEqual({ urls: [], maxLagSeconds: 10, checkIntervalMs: 2000 });
  });

  it('takes DATABASE_READ_URLS (comma-separated) over the file list', () => {
    const cfg = parseConfig(
      { database: { readReplicas: { urls: ['postgresql://file/db'], maxLagSeconds: 3 } } },
      { DATABASE_READ_URLS: ' postgresql://a:5432/db , postgres://b/db ' },
    );
    expect(cfg.readReplicas).toEqual({
      urls: ['postgresql://a:5432/db', 'postgres://b/db'],
      maxLagSeconds: 3,
      checkIntervalMs: 2000,
    });
    expect(
      parseConfig({ database: { readReplicas: { urls: ['postgresql://file/db'] } } }, {}).readReplicas!.urls,
    ).toEqual(['postgresql://file/db']);
  });

  it('refuses entries that are not postgres URLs, and unknown fields', () => {
    expect(() => parseConfig({}, { DATABASE_READ_URLS: 'postgresql://a/db,http://b' })).toThrow(
      /DATABASE_READ_URLS: every entry must be a postgres:\/\/ URL/,
    );
    expect(() => parseConfig({ database: { readReplicas: { urls: ['mysql://x'] } } }, {})).toThrow(
      ConfigError,
    );
    expect(() => parseConfig({ database: { readReplicas: { maxLag: 3 } } }, {})).toThrow(ConfigError);
  });
});

describe('database.reads', () => {
  it('bounds every read statement: 2 s on the server, 2.5 s on the client, unless configured', () => {
    expect(parseConfig({}, {}).reads).toEqual({ statementTimeoutMs: 2000, answerTimeoutMs: 2500 });
    expect(
      parseConfig({ database: { reads: { statementTimeoutMs: 500, answerTimeoutMs: 800 } } }, {}).reads,
    ).toEqual({ statementTimeoutMs: 500, answerTimeoutMs: 800 });
  });

  it('refuses a client bound below the server one, zero, and unknown fields', () => {
    expect(() =>
      parseConfig({ database: { reads: { statementTimeoutMs: 3000, answerTimeoutMs: 1000 } } }, {}),
    ).toThrow(/database\.reads\.answerTimeoutMs: answerTimeoutMs must be at least statementTimeoutMs/);
    expect(() => parseConfig({ database: { reads: { statementTimeoutMs: 0 } } }, {})).toThrow(ConfigError);
    expect(() => parseConfig({ database: { reads: { timeoutMs: 100 } } }, {})).toThrow(ConfigError);
  });
});
