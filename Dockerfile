# Brook in a container: build the TypeScript and the optional sendfile addon in one stage,
# run on a slim Node 24 image as a non-root user with the data directory as a volume.

FROM node:24-slim AS build
WORKDIR /brook
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY storage/native ./storage/native
RUN npm ci --no-fund --no-audit
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
WORKDIR /brook
ENV NODE_ENV=production
COPY --from=build /brook/package.json ./
COPY --from=build /brook/node_modules ./node_modules
COPY --from=build /brook/dist ./dist
COPY --from=build /brook/bin ./bin
COPY --from=build /brook/storage/native/build ./storage/native/build
RUN mkdir -p /var/lib/brook && chown node:node /var/lib/brook
USER node
VOLUME ["/var/lib/brook"]
EXPOSE 9092
ENTRYPOINT ["node", "bin/brook.js"]
CMD ["--set", "listeners=PLAINTEXT://0.0.0.0:9092", "--set", "advertised.listeners=PLAINTEXT://localhost:9092", "--data-dir", "/var/lib/brook"]
