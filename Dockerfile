# syntax=docker/dockerfile:1
# The actorgate image: docker build -t actorgate:0.1.0 .   (deploy/kubernetes/ runs it; README: "Deploying on
# Kubernetes"). node:20-slim, not alpine: the uWebSockets.js binaries are built against glibc.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the build runs below instead.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY workers workers
COPY proto proto
RUN npm run build

FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (tsc) is a dev dependency; dist/ comes built from the build stage.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY bin bin
COPY proto proto
# The image's `node` user (uid 1000), by number so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
# WebSocket clients, admin HTTP (/health, /ready, /metrics, /admin/drain), GatewayPush gRPC.
EXPOSE 7000 7001 7002
HEALTHCHECK --interval=10s --timeout=2s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7001/health').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The config file is the ConfigMap's mount (deploy/kubernetes/configmap.yaml); arguments after the image are more flags.
ENTRYPOINT ["node", "/app/bin/actorgate.js", "start", "--config", "/etc/actorgate/actorgate.json"]
