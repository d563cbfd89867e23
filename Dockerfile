# The triage service as a container: built in a Rust image, run from a small
# one as a non-root user with nothing but the binary.
#
#   docker build -t triage .
#   docker run --rm -p 8080:8080 -v "$PWD/policies:/etc/triage/policies:ro" triage
#
# Kubernetes manifests that run it are in deploy/kubernetes/.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin triage \
    && strip target/release/triage

# Distroless: glibc and CA certificates, no shell, user 65532 ("nonroot").
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/triage /usr/local/bin/triage
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/triage"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--policies", "/etc/triage/policies", "--log-format", "json"]
