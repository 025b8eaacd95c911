# Multi-stage image: dependencies and the generated Prisma client in a build stage, then a
# slim runtime as an unprivileged user. The server runs compiled (src/ → dist/ by
# scripts/build.ts, after the sources are copied in); openssh-client is not needed (ssh2 speaks SSH itself). Node 20 is inside
# package.json's engines range (test/unit/engines.test.ts checks it; .npmrc's engine-strict
# makes npm ci refuse a Node outside it).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY src/db/adapter.ts ./src/db/adapter.ts
# npm ci's prepare script (scripts/build.ts) builds the dashboard (web/ → web/dist) with these.
COPY scripts/build.ts ./scripts/build.ts
COPY bin ./bin
COPY src/dashboard/build.ts ./src/dashboard/build.ts
COPY web ./web
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# Compiled again now that all of src/ is here (prepare only saw the two files above).
RUN npm run build

FROM node:20-bookworm-slim
RUN groupadd --system infrapulse && useradd --system --gid infrapulse --home-dir /app infrapulse \
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build --chown=infrapulse:infrapulse /app /app
USER infrapulse
ENV HOST=0.0.0.0 PORT=9101 DATA_DIR=/data NODE_ENV=production
VOLUME ["/data"]
EXPOSE 9101
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s CMD curl -fsS http://127.0.0.1:9101/readyz || exit 1
CMD ["node", "bin/infrapulse.js", "serve"]
