/** What a first run shows: `/` leads to the explorer, and the start-up log says where things are. */
import type { FastifyInstance } from 'fastify';
import type { RefgraphConfig } from '#config';
import { routeAccess } from './auth/access.js';

export interface StartupLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  msg: string;
}

/**
 * A few lines an operator reads once: the addresses of the explorer, GraphQL IDE, API docs and
 * metrics, the registries refgraph listens for (or how to add one), and whether reads are open.
 * `readsOpen` is the authenticator's answer; the log only repeats it.
 */
export function startupLines(
  url: string,
  config: RefgraphConfig,
  readsOpen: boolean,
  configFile = 'refgraph.yaml',
): StartupLine[] {
  const at = {
    explorer: `${url}/ui`,
    ide: `${url}/graphql/ide`,
    docs: `${url}/docs`,
    metrics: `${url}/metrics`,
  };
  const lines: StartupLine[] = [
    {
      level: 'info',
      fields: at,
      msg: `explorer ${at.explorer} · GraphQL IDE ${at.ide} · API docs ${at.docs} · metrics ${at.metrics}`,
    },
  ];
  const names = config.registries.map((r) => r.name);
  lines.push(
    names.length
      ? {
          level: 'info',
          fields: { registries: names },
          msg: `registries: ${config.registries.map((r) => `${r.name} (${r.kind})`).join(', ')}; webhooks at ${url}/webhooks/<name>, backfill with \`refgraph sync <name>\``,
        }
      : {
          level: 'warn',
          fields: { registries: [] },
          msg: `no registries configured: add one under "registries:" in ${configFile} (see refgraph.example.yaml) and point its notifications at ${url}/webhooks/<name>`,
        },
  );
  lines.push(
    readsOpen
      ? {
          level: 'warn',
          fields: { reads: 'open' },
          msg: `reads are open to anyone who can reach ${url}; configure auth.tokens or auth.oidc to require a token`,
        }
      : {
          level: 'info',
          fields: { reads: 'token' },
          msg: `reads need an API token (${config.auth.tokens.length} configured${config.auth.oidc ? `, or OIDC from ${config.auth.oidc.issuer}` : ''})`,
        },
  );
  return lines;
}

/** `/` sends a browser to the explorer. Public: it reveals nothing but the explorer's address. */
export function firstRunRoutes(fastify: FastifyInstance): void {
  fastify.get('/', { config: routeAccess('public') }, (_req, reply) => reply.redirect('/ui', 302));
}
