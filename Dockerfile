# Builds the one dirsync binary; protoc comes from a crate, so no system packages are needed.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin dirsync

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/dirsync dirsync && mkdir -p /var/lib/dirsync && chown dirsync /var/lib/dirsync
COPY --from=build /src/target/release/dirsync /usr/local/bin/dirsync
USER dirsync
WORKDIR /var/lib/dirsync
EXPOSE 8080 50051
ENTRYPOINT []
CMD ["dirsync", "serve", "--scim-addr", "0.0.0.0:8080", "--grpc-addr", "0.0.0.0:50051"]
