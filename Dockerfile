# syntax=docker/dockerfile:1
# One image for every dbward role: `bot`, `agent`, and the CLI commands (docs/deployment.md).
# The sources are TypeScript run through tsx (a runtime dependency of the CLI), so there is no
# build step: the image holds the production dependencies and the sources, and runs
# `node bin/dbward.mjs <command>` as the unprivileged `node` user (uid 1000).
#
# The base image is pinned by version. Pin it by digest as well before you ship, so a re-pushed
# tag cannot change what you run; on a machine with Docker:
#   docker buildx imagetools inspect node:20.20.2-bookworm-slim --format '{{json .Manifest.Digest}}'
# then build with --build-arg NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:<that digest>.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS deps
# better-sqlite3 compiles from source when no prebuilt binary matches; these are its build tools.
# They stay in this stage and never reach the final image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY bot/package.json bot/
COPY agent/package.json agent/
COPY cli/package.json cli/
# --omit=dev keeps tsx: it is a dependency of the CLI workspace, not a dev dependency.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app /app
COPY schema.sql ./
COPY bin ./bin
COPY shared/src ./shared/src
COPY bot/src ./bot/src
COPY agent/src ./agent/src
COPY cli/src ./cli/src
# Test files are not needed at run time.
RUN find /app/shared/src /app/bot/src /app/agent/src /app/cli/src -name '*.test.ts' -delete \
 && mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
# State (bot: store and signing key; agent: executed-token ledger). Mount a volume here; the root
# file system can then be read-only, with a tmpfs on /tmp for tsx's compile cache.
ENTRYPOINT ["node", "bin/dbward.mjs"]
CMD ["--help"]
