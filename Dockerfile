FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
ENV PORT=8080 REFGRAPH_CONFIG=/etc/refgraph/refgraph.yaml
EXPOSE 8080
USER node
CMD ["node", "dist/apps/server/src/main.js"]
