# syntax=docker/dockerfile:1
# Gatehouse: one image for every role (`serve --role api|worker|all`, `validate`).

# --- build: compile TypeScript with the dev dependencies -------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped here: `prepare` would build before the sources are copied.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY src ./src
COPY workers ./workers
COPY sdk ./sdk
RUN npm run build

# --- runtime: production dependencies and the compiled output only ---------------------------
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY schemas ./schemas
# The dashboard's static files (/ui/), served from memory.
COPY ui ./ui
# The widget client (/sdk/connectors.js), built by `npm run build`.
COPY --from=build /app/sdk/dist ./sdk/dist
# The image never runs embedded mode: REDIS_URL must point at a Redis (see docker-compose.yml).
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/gatehouse.js"]
CMD ["serve", "--role", "all"]
