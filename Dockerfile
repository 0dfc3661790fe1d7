# syntax=docker/dockerfile:1
# One image runs every role: `serve`, `worker`, `migrate up`, operator tools.
#   docker build -t loyaltyjam .
#   docker run --rm -e DATABASE_URL=... -e REDIS_URL=... loyaltyjam migrate up
#   docker run --rm -p 8080:8080 -v lj-photos:/data -e DATABASE_URL=... -e REDIS_URL=... \
#     -e JWT_SECRET=... -e OPERATOR_TOKEN=... -e SMS_API_KEY=... loyaltyjam serve
#   docker run --rm -v lj-photos:/data -e DATABASE_URL=... -e REDIS_URL=... -e CREDENTIALS_KEY=... loyaltyjam worker
# serve and worker share PHOTO_DIR (/data/photos): mount the same volume in both.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
    -o /out/loyaltyjam ./cmd/loyaltyjam
# The photo store's folder, owned by the image's non-root user (uid 65532):
# distroless has no shell to create it at start-up.
RUN mkdir -p /out/data/photos

# distroless/static: CA certificates and tzdata, no shell, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/loyaltyjam /usr/local/bin/loyaltyjam
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
USER nonroot:nonroot
ENV HTTP_ADDR=:8080 PHOTO_DIR=/data/photos
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/loyaltyjam"]
CMD ["serve"]
