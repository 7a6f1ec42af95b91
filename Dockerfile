# ueba-narrator container image.
#
# Build:  docker build -t ueba-narrator:dev .
# Config: a TOML file (--config) and/or UEBA__SECTION__KEY environment variables, e.g.
#         UEBA__AUTH__CREDENTIAL=managed_identity UEBA__LOGS_INGESTION__ENDPOINT=https://...
# The HTTP endpoints of `run` (/healthz, /readyz, /metrics) listen on port 8080.

FROM rust:1.95-bookworm AS builder
# cmake builds the bundled librdkafka used by the Kafka source.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY prompts ./prompts
COPY schemas ./schemas
COPY infra/columns ./infra/columns
RUN cargo build --release --locked --bin ueba-narrator \
 && strip target/release/ueba-narrator

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ueba \
 && useradd --system --uid 10001 --gid ueba --home-dir /var/lib/ueba-narrator --create-home ueba
COPY --from=builder /src/target/release/ueba-narrator /usr/local/bin/ueba-narrator
COPY --from=builder /src/schemas /usr/share/ueba-narrator/schemas
USER 10001:10001
WORKDIR /var/lib/ueba-narrator
ENV RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["ueba-narrator"]
CMD ["run", "--log-format", "json"]
