# The pipeline's own services (collector, worker, api) share one image; the compose file
# picks the subcommand. Build: docker build -t fieldstream .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY cli cli
COPY common common
COPY schemas schemas
COPY sim sim
COPY stack stack
COPY ingest ingest
COPY workers workers
COPY aggregate aggregate
COPY api api
COPY bench bench
COPY test test
RUN node node_modules/typescript/bin/tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY bin bin
# Runtime reads the wire schema (.proto), SQL migrations and the example configs from source paths.
COPY schemas schemas
COPY config config
USER node
ENTRYPOINT ["node", "bin/fieldstream.js"]
CMD ["--help"]
