# One image for every Leash process: the compiled services and CLI (npm run build) on
# plain node, with production dependencies only. Which process a container runs is
# its command, e.g. `dist/services/policy/src/main.js` (docker-compose.yml and
# deploy/kubernetes name one each); the default is the CLI.
#
#   docker build -t leash:0.1.0 .

FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY tools/build ./tools/build
COPY apps ./apps
COPY libs ./libs
COPY services ./services
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production \
    LEASH_DIST=/app/dist
WORKDIR /app
COPY --from=build /app/package.json /app/tsconfig.base.json ./
COPY --from=build /app/tools/build/register.js ./tools/build/register.js
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Where stores and keys are mounted, owned by the unprivileged user the processes run as
# (a named volume takes the ownership of the directory it is mounted on). `leash` runs
# the compiled CLI: `docker compose exec approvals leash approvals list`.
RUN mkdir -p /data /keys/policy /keys/budget /keys/approvals /keys/operator /keys/public \
 && chown -R node:node /data /keys \
 && printf '#!/bin/sh\nexec node -r /app/tools/build/register.js /app/dist/apps/leash/src/bin.js "$@"\n' \
      > /usr/local/bin/leash \
 && chmod 755 /usr/local/bin/leash
USER node
ENTRYPOINT ["node", "-r", "./tools/build/register.js"]
CMD ["dist/apps/leash/src/bin.js", "--help"]
