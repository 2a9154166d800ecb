import { createHash } from 'node:crypto';
import { Authenticator } from './authenticator.js';
import { grantedScopes, OciTokens } from './oci-token.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const auth = new Authenticator({
  tokens: [
    { name: 'team-a', sha256: sha('secret-a'), scopes: ['read:local/team-a/**'] },
    { name: 'ops', sha256: sha('secret-admin'), scopes: ['admin'] },
  ],
});
const config = {
  service: 'refgraph.example',
  tagMaxAgeSeconds: 30,
  maxBlobBytes: 1,
  tokenTtlSeconds: 300,
  tokenSecret: 'x'.repeat(32),
};
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('grantedScopes', () => {
  it.each([
    [['local/team-a/**'], [], ['read:local/team-a/**']],
    [undefined, [], ['read:**']],
    [['local/team-a/**'], ['repository:local/team-a/app:pull'], ['read:local/team-a/app']],
    [['local/team-a/**'], ['repository:local/team-a/app:push,pull'], ['read:local/team-a/app']],
    [['local/team-a/**'], ['repository:local/team-a/app:push'], []],
    [['local/team-a/**'], ['repository:local/team-b/app:pull'], []],
    [['local/team-a/**'], ['repository:local/team-a/*:pull'], []],
    [['local/team-a/**'], ['registry:catalog:*'], []],
    [undefined, ['repository:local/x:pull', 'repository:other/y:*'], ['read:local/x', 'read:other/y']],
  ])('scope %j asking %j grants %j', (scope, requested, want) => {
    expect(grantedScopes(scope, requested)).toEqual(want);
  });
});

describe('OciTokens', () => {
  it('accepts an API token as the Basic password, with any username', async () => {
    const tokens = new OciTokens(auth, config);
    const out = await tokens.authenticate(basic('whoever', 'secret-a'));
    expect(out).toEqual({
      ok: true,
      principal: { name: 'team-a', kind: 'token', scopes: ['read:local/team-a/**'] },
    });
    expect((await tokens.authenticate(basic('team-a', 'wrong'))).ok).toBe(false);
    expect((await tokens.authenticate(basic('team-a', ''))).ok).toBe(false);
  });

  it('issues tokens that carry reads only, and expire', async () => {
    let now = Date.UTC(2026, 0, 1);
    const tokens = new OciTokens(auth, config, () => now);
    const admin = await auth.authenticate('Bearer secret-admin');
    if (!admin.ok) throw new Error('admin token not accepted');
    const issued = await tokens.issue(admin.principal, ['repository:local/app:pull']);
    expect(issued).toMatchObject({ expires_in: 300, issued_at: '2026-01-01T00:00:00.000Z' });
    expect(await tokens.authenticate(`Bearer ${issued.token}`)).toEqual({
      ok: true,
      principal: {
        name: 'oci:ops',
        kind: 'token',
        scopes: ['read:local/app'],
        expiresAt: Date.UTC(2026, 0, 1) + 300_000,
      },
    });
    now += 301_000;
    expect(await tokens.authenticate(`Bearer ${issued.token}`)).toEqual({
      ok: false,
      reason: 'invalid token: ERR_JWT_EXPIRED',
    });
  });

  it('never issues a token that outlives the credential it was issued for', async () => {
    const now = Date.UTC(2026, 0, 1);
    const tokens = new OciTokens(auth, config, () => now);
    const oidc = { name: 'ci', kind: 'oidc' as const, scopes: ['read:**'], expiresAt: now + 42_000 };
    const issued = await tokens.issue(oidc, []);
    expect(issued.expires_in).toBe(42);
    const read = await tokens.authenticate(`Bearer ${issued.token}`);
    expect(read.ok && read.principal.expiresAt).toBe(now + 42_000);
  });

  it('refuses a token signed with another secret', async () => {
    const mine = new OciTokens(auth, config);
    const theirs = new OciTokens(auth, { ...config, tokenSecret: 'y'.repeat(32) });
    const { token } = await theirs.issue({ name: 'x', kind: 'token', scopes: ['read:**'] }, []);
    expect((await mine.authenticate(`Bearer ${token}`)).ok).toBe(false);
  });

  it('refuses a token issued for another service, even under the same secret', async () => {
    const staging = new OciTokens(auth, { ...config, service: 'staging.example' });
    const production = new OciTokens(auth, config);
    const { token } = await staging.issue({ name: 'x', kind: 'token', scopes: ['read:**'] }, []);
    expect(await staging.authenticate(`Bearer ${token}`)).toMatchObject({ ok: true });
    expect(await production.authenticate(`Bearer ${token}`)).toEqual({
      ok: false,
      reason: 'invalid token: ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
  });
});
