# The replab image where a registry is reachable (`replab image build --from dockerfile`).
# Offline, `replab image build` assembles the same content from this machine's node binary instead.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY dist ./dist
COPY clusters ./clusters
COPY workloads ./workloads
COPY suites ./suites
ENTRYPOINT ["node", "/app/bin/replab.js"]
