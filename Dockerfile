# Leaven's container image: `leaven operator` (and every other command) on Node 24, as a non-root user.
# Node 24 runs the TypeScript sources as they are (type stripping), so there is no build step: the build
# stage only installs the production dependencies, and the final stage holds what runs and nothing else.
#
#   docker build -t REGISTRY/leaven:0.1.0 .
#
# Pin the base by digest in your registry mirror for reproducible builds: --build-arg NODE_IMAGE=node:24-slim@sha256:…
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency gets to run code at install time; none of the runtime ones needs to.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOME=/tmp
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY schemas ./schemas
COPY crds ./crds
COPY controller ./controller
# 65532 is the conventional "nonroot" id (distroless); numeric, so Kubernetes' runAsNonRoot can check it.
# The files stay root-owned and read-only to it: the operator writes only to /tmp.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/controller/cli/leaven.mjs"]
CMD ["operator"]
