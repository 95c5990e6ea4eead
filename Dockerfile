# Multi-stage build: compile in the Rust image, run in slim Debian as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY templates templates
COPY static static
COPY migrations migrations
COPY tests tests
COPY benches benches
RUN cargo build --release --locked --bin mpanel

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin mpanel \
    && mkdir -p /data && chown mpanel /data
COPY --from=build /src/target/release/mpanel /usr/local/bin/mpanel
USER mpanel
ENV MPANEL_DATA_DIR=/data \
    MPANEL_BIND=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["mpanel", "healthcheck"]
ENTRYPOINT ["mpanel"]
CMD ["serve"]
