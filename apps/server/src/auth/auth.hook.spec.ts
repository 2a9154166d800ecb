import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { routeAccess } from './access.js';
import { installAuth } from './auth.hook.js';
import { Authenticator } from './authenticator.js';
import { RateLimiter } from './rate-limit.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
type Get = (url: string, headers?: Record<string, string>) => Promise<{ statusCode: number; body: string }>;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** The hook on a bare Fastify app: the policy comes from the matched route's config only. */
async function appWith(tokens: boolean): Promise<{ app: FastifyInstance; get: Get; logged: string[] }> {
  const logged: string[] = [];
  const app = Fastify();
  const auth = new Authenticator({
    tokens: tokens
      ? [
          { name: 'reader', sha256: sha('reader'), scopes: ['read:**'] },
          { name: 'ops', sha256: sha('ops'), scopes: ['admin'] },
        ]
      : [],
  });
  installAuth(
    app,
    auth,
    new RateLimiter(0),
    pino({ level: 'error' }, { write: (l: string) => logged.push(l) }),
  );
  app.get('/undeclared', () => ({ leaked: true }));
  app.get('/misdeclared', { config: { access: 'everyone' as never } }, () => ({ leaked: true }));
  app.get('/read', { config: routeAccess('read') }, () => ({ ok: true }));
  app.get('/admin/:id', { config: routeAccess('admin') }, () => ({ ok: true }));
  app.get('/open', { config: routeAccess('public') }, () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const get: Get = async (url, headers = {}) => {
    const res = await fetch(`${base}${url}`, { headers });
    return { statusCode: res.status, body: await res.text() };
  };
  return { app, get, logged };
}

describe('route policy in the auth hook', () => {
  it('denies a route without a (valid) declaration to everyone, admin included', async () => {
    for (const tokens of [true, false]) {
      const { app, get, logged } = await appWith(tokens);
      for (const url of ['/undeclared', '/misdeclared']) {
        for (const headers of [{}, bearer('reader'), bearer('ops')]) {
          const res = await get(url, headers);
          expect([url, res.statusCode, res.body.includes('leaked')]).toEqual([url, 403, false]);
        }
      }
      expect(logged.join('')).toMatch(/route declares no access policy/);
      await app.close();
    }
  });

  it('applies the declared policy of the route the router matched', async () => {
    const { app, get } = await appWith(true);
    const status = async (url: string, headers = {}) => (await get(url, headers)).statusCode;
    expect(await status('/open')).toBe(200);
    expect(await status('/read')).toBe(401);
    expect(await status('/read', bearer('reader'))).toBe(200);
    expect(await status('/admin/1', bearer('reader'))).toBe(403);
    expect(await status('/admin/1', bearer('ops'))).toBe(200);
    // The router decodes the path; the decoded route's policy applies.
    expect(await status('/%61dmin/1', bearer('ops'))).toBe(200);
    expect(await status('/%61dmin/1', bearer('reader'))).toBe(403);
    expect(await status('/%61dmin/1')).toBe(401);
    // Unmatched: the same 404 for every caller.
    const bodies = new Set<string>();
    for (const headers of [{}, bearer('reader'), bearer('ops')]) {
      const res = await get('/nothing/here', headers);
      expect(res.statusCode).toBe(404);
      bodies.add(res.body);
    }
    expect(bodies.size).toBe(1);
    await app.close();
  });

  it('without credentials configured: reads open, admin closed', async () => {
    const { app, get } = await appWith(false);
    expect((await get('/read')).statusCode).toBe(200);
    expect((await get('/admin/1')).statusCode).toBe(401);
    expect((await get('/%61dmin/%31')).statusCode).toBe(401);
    await app.close();
  });
});
