#!/usr/bin/env bash
# Builds the app and pushes it to an OCI registry as a Spin application (what a SpinApp's
# `image` names), then says what to apply. Usage:
#   deploy/push.sh <registry>/<owner>/property-listings:<version> [spin registry push options]
#   e.g. deploy/push.sh ghcr.io/acme/property-listings:0.1.0
# It pushes the wasi:http 0.2 flavour (spin.wasip2.toml), which every containerd-shim-spin
# runs; MANIFEST=spin.toml pushes the 0.3 flavour instead, for a shim built on Spin >= 4.1.
# Needs: the Spin CLI on PATH or in SPIN, and a registry you can push to. Logs in first when
# REGISTRY_USER and REGISTRY_PASSWORD are set (else `spin registry login` or `docker login`
# beforehand). Extra arguments go to `spin registry push` (e.g. --insecure).
set -euo pipefail
reference="${1:?usage: deploy/push.sh <registry>/<owner>/property-listings:<version> [push options]}"
shift
spin="${SPIN:-spin}"
manifest="${MANIFEST:-spin.wasip2.toml}"
cd "$(dirname "$0")/.."

if [[ -n "${REGISTRY_USER:-}" && -n "${REGISTRY_PASSWORD:-}" ]]; then
    printf '%s' "$REGISTRY_PASSWORD" |
        "$spin" registry login "${reference%%/*}" --username "$REGISTRY_USER" --password-stdin
fi
"$spin" build -f "$manifest"
"$spin" registry push -f "$manifest" "$reference" "$@"

cat <<NEXT
Pushed $reference ($manifest). Then, in the namespace of your choice:
  kubectl create secret generic property-listings-libsql \\
      --from-literal=listings-token=<listings token> --from-literal=users-token=<users token>
  sed 's|image: .*|image: "$reference"|' deploy/spinapp.yaml | kubectl apply -f -
NEXT
