# One image for both production processes:
#   api    (default CMD)  node dist/bin/api.js
#   worker (compose overrides the command)  node dist/bin/worker.js
#
# Debian (glibc), not alpine: @temporalio/core-bridge ships its native library for
# x86_64-unknown-linux-gnu, and @swc/core (used by the worker to bundle workflow code at
# start) resolves to its -gnu binary.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- base: npm 11 + the dependency manifests --------------------------------------------
FROM ${NODE_IMAGE} AS base
# node 20 ships npm 10, which ignores package.json "allowScripts" and .npmrc
# "strict-allow-scripts". npm 11 enforces them: listed install scripts run, denied ones are
# skipped, and any unreviewed one fails `npm ci`. 11.19.1 is the version the repo is used with.
ARG NPM_VERSION=11.19.1
RUN npm install -g npm@${NPM_VERSION} && npm --version
WORKDIR /app
COPY package.json package-lock.json .npmrc ./

# --- build: all dependencies, compile TypeScript, copy the SQL migrations ---------------
FROM base AS build
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc -p tsconfig.build.json && cp -r src/db/migrations dist/db/ && cp -r src/api/console dist/api/ (the console page)
RUN npm run build

# --- prod-deps: production dependencies only -------------------------------------------
FROM base AS prod-deps
RUN npm ci --omit=dev && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Files stay root-owned (read-only for the app). Neither process writes to disk: the worker
# bundles workflow code in memory (in a short-lived child process) and both log to stdout.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
# No HEALTHCHECK here: the worker runs from this image too and serves no HTTP.
# docker-compose.yml gives the api service its /readyz health check.
CMD ["node", "dist/bin/api.js"]
