import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Access } from '../auth/access.js';

const require = createRequire(import.meta.url);
const dirOf = (pkg: string) => dirname(require.resolve(`${pkg}/package.json`));

const JS = 'text/javascript; charset=utf-8';

/** What the IDE opens with: example queries to run or edit, and where the token comes from. */
export const EXAMPLE_QUERY = `# refgraph GraphQL. Reads behind a token use the one set with the explorer's
# "API token" button (/ui). Run a query with the play button; Ctrl-Space completes fields.

# The first artifacts you may read, in digest order.
query Artifacts {
  artifacts(first: 10) {
    edges {
      node {
        digest
        kind
        tags
      }
    }
  }
}

# One image by reference: its signatures and referrers.
query Image($reference: String = "local/app:v1") {
  artifact(reference: $reference) {
    digest
    signatures {
      status
      identity
      issuer
      repository
    }
    referrers(first: 20) {
      edges {
        kind
        node {
          digest
          artifactType
        }
      }
    }
  }
}
`;
/** Served from installed packages: the IDE works air-gapped (no CDN). */
const ASSETS: Record<string, { type: string; path?: string; body?: string }> = {
  'react.production.min.js': { type: JS, path: join(dirOf('react'), 'umd/react.production.min.js') },
  'react-dom.production.min.js': {
    type: JS,
    path: join(dirOf('react-dom'), 'umd/react-dom.production.min.js'),
  },
  'graphiql.min.js': { type: JS, path: join(dirOf('graphiql'), 'graphiql.min.js') },
  'graphiql.min.css': { type: 'text/css; charset=utf-8', path: join(dirOf('graphiql'), 'graphiql.min.css') },
  // Boot code as a file, not inline, so a strict Content-Security-Policy can allow 'self' only.
  'ide.js': {
    type: JS,
    body: `(function () {
  var url = new URL('/graphql', window.location.href);
  var ws = url.href.replace(/^http/, 'ws');
  // The explorer's API token (set with its "API token" button at /ui) is this IDE's too.
  var token = '';
  try { token = window.localStorage.getItem('refgraph.apiToken') || ''; } catch (e) {}
  var auth = token ? { authorization: 'Bearer ' + token } : {};
  var fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: ws, headers: auth, wsConnectionParams: auth });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    defaultQuery: ${JSON.stringify(EXAMPLE_QUERY)},
  }));
})();
`,
  },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>refgraph GraphQL</title>
<style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
<link rel="stylesheet" href="/graphql/ide/assets/graphiql.min.css">
</head>
<body>
<div id="graphiql">Loading the GraphQL IDE…</div>
<script src="/graphql/ide/assets/react.production.min.js"></script>
<script src="/graphql/ide/assets/react-dom.production.min.js"></script>
<script src="/graphql/ide/assets/graphiql.min.js"></script>
<script src="/graphql/ide/assets/ide.js"></script>
</body>
</html>
`;

/** GraphiQL for `/graphql`, queries and subscriptions. */
@Controller('graphql/ide')
export class GraphiqlController {
  private readonly cache = new Map<string, Buffer>();

  @Access('public')
  @Get()
  page(@Res() reply: FastifyReply) {
    return reply.header('content-type', 'text/html; charset=utf-8').send(PAGE);
  }

  @Access('public')
  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply) {
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!asset) {
      return reply
        .status(404)
        .send({ error: { code: 'not_found', message: 'no such asset', requestId: '' } });
    }
    let body = this.cache.get(file);
    if (!body) {
      body = asset.body !== undefined ? Buffer.from(asset.body) : readFileSync(asset.path!);
      this.cache.set(file, body);
    }
    return reply
      .header('content-type', asset.type)
      .header('cache-control', 'public, max-age=86400')
      .send(body);
  }
}
