# fhir-jwt-proxy container image.
#
#   docker build -t fhir-jwt-proxy .
#   docker run --rm -p 8080:8080 -p 9090:9090 \
#     -v "$PWD/config/entra-id.json:/etc/fhir-jwt-proxy/config.json:ro" \
#     -e FHIR_JWT_PROXY_UPSTREAM=https://fhir.example/r4 fhir-jwt-proxy
#
# Kubernetes manifests that run this image: deploy/ (deploy/README.md).

# ---- build stage ------------------------------------------------------------------------------------------------
# Debian 12 (bookworm) with the current stable Rust: the same glibc (2.36) as the distroless runtime below, so the
# binary links against exactly what it will find there. aws-lc-sys (aws-lc-rs's C part) builds with the image's
# gcc; no cmake or clang needed for the locked version on x86_64/aarch64.
FROM rust:1-bookworm AS build
WORKDIR /src

# Dependency layer: the manifests and stub targets only, so the dependencies are compiled once and this layer is
# reused for as long as Cargo.toml and Cargo.lock stay the same (a source edit rebuilds only the crate itself).
# The stubs stand for the lib (src/lib.rs), the bin (src/main.rs) and the bench target Cargo.toml declares.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/validation.rs \
    && cargo build --release --locked \
    && rm -rf src benches

# The real sources. `touch` makes sure cargo sees them as newer than the stub build (COPY keeps the build
# context's mtimes, which can be older), so the crate itself is rebuilt; --locked fails on a stale Cargo.lock
# instead of silently resolving other versions.
COPY src ./src
COPY benches ./benches
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/fhir-jwt-proxy /out/fhir-jwt-proxy

# ---- runtime stage ----------------------------------------------------------------------------------------------
# distroless "cc": glibc, libgcc_s and the CA certificates (/etc/ssl/certs, read by rustls-native-certs for https
# identity providers and upstreams), and nothing else: no shell, no package manager. glibc rather than a static
# (musl) build because aws-lc-rs links C code and is built and tested here against glibc. The :nonroot tag runs as
# uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot

COPY --from=build /out/fhir-jwt-proxy /usr/local/bin/fhir-jwt-proxy

# Listen on every interface inside the container: the binary's defaults (127.0.0.1:8080, 127.0.0.1:9090) would be
# unreachable from outside it. Both remain overridable (--listen/--admin-listen or these variables).
ENV FHIR_JWT_PROXY_LISTEN=0.0.0.0:8080 \
    FHIR_JWT_PROXY_ADMIN_LISTEN=0.0.0.0:9090

# 8080: the proxy (HTTP, or HTTPS with --tls-cert/--tls-key; deploy/ moves it to 8443 with TLS).
# 9090: the admin listener, plain HTTP: /healthz, /readyz, /metrics.
EXPOSE 8080 9090

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd. The process writes no files
# (logs go to stderr), so the image runs with a read-only root filesystem as it is.
USER 65532:65532

# No HEALTHCHECK: there is no shell or curl in the image to run one, and Kubernetes probes /healthz and /readyz
# on the admin port itself (deploy/base/deployment.yaml). SIGTERM (the default stop signal) drains in-flight
# requests for --drain-timeout (30 s) and exits 0.
ENTRYPOINT ["/usr/local/bin/fhir-jwt-proxy"]
# The upstream has no default and must be given: FHIR_JWT_PROXY_UPSTREAM, or a whole command line of your own
# (`docker run ... fhir-jwt-proxy run --config ... --upstream <URL>`: arguments after the image replace CMD).
CMD ["run", "--config", "/etc/fhir-jwt-proxy/config.json"]
