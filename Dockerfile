# syntax=docker/dockerfile:1
# One image for every dbward role: `bot`, `agent`, and the CLI commands (docs/deployment.md).
# The image holds the build (dist/, from `npm run build`), the production dependencies and the
# files the CLI reads at run time (schema.sql, manifest.yml, package.json), and runs
# `node bin/dbward.mjs <command>` as the unprivileged `node` user (uid 1000). No TypeScript, no
# sources and no development tools reach it. test/docker-image-files.test.ts assembles the final
# stage's file set from the COPY lines below and runs the documented commands against it.
#
# The base image is pinned by version. Pin it by digest as well before you ship, so a re-pushed
# tag cannot change what you run; on a machine with Docker:
#   docker buildx imagetools inspect node:20.20.2-bookworm-slim --format '{{json .Manifest.Digest}}'
# then build with --build-arg NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:<that digest>.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# better-sqlite3 compiles from source when no prebuilt binary matches; these are its build tools.
# They stay in the first two stages and never reach the final image.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY bot/package.json bot/
COPY agent/package.json agent/
COPY cli/package.json cli/

# The build: every dependency (esbuild and tsx included), then `npm run build` into dist/.
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY shared/src ./shared/src
COPY bot/src ./bot/src
COPY agent/src ./agent/src
COPY cli/src ./cli/src
RUN npm run build

# What runs: the production dependencies only (the root package.json lists them all).
FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json schema.sql manifest.yml ./
COPY bin/dbward.mjs ./bin/
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
# State (bot: store and signing key; agent: executed-token ledger). Mount a volume here; the root
# file system can then be read-only: nothing is written outside /data.
ENTRYPOINT ["node", "bin/dbward.mjs"]
CMD ["--help"]
