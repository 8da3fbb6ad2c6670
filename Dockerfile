# syntax=docker/dockerfile:1
# image-budget's own image: a static, stripped musl `budget` in an empty image.
#
#   docker build -t image-budget .
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock \
#     -v "$PWD:/work" -w /work image-budget check
#
# This file needs base images from Docker Hub (rust:1-alpine), so it is for
# machines that can pull; the CI machines here cannot, and build the same final
# stage from a binary compiled on the host instead (docker/Dockerfile.scratch,
# via scripts/own-image).

FROM rust:1-alpine AS builder
# musl-dev: the C runtime for aws-lc-sys; cmake/perl/make: aws-lc-sys's build;
# ca-certificates: the bundle copied into the final image.
RUN apk add --no-cache musl-dev cmake make perl ca-certificates binutils
RUN rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
 && strip target/x86_64-unknown-linux-musl/release/budget \
 && cp target/x86_64-unknown-linux-musl/release/budget /budget
# A user with no home and no shell, for the final image's /etc/passwd.
RUN mkdir -p /out/etc && echo 'nonroot:x:65532:65532:nonroot:/:/sbin/nologin' > /out/etc/passwd \
 && echo 'nonroot:x:65532:' > /out/etc/group

FROM scratch
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /out/etc/passwd /out/etc/group /etc/
COPY --from=builder /budget /budget
USER 65532:65532
ENTRYPOINT ["/budget"]
