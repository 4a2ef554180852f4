#!/usr/bin/env bash
# Builds the app and pushes it to an OCI registry as a Spin application (what a SpinApp's
# `image` names), then says what to apply. Usage:
#   deploy/push.sh <registry>/<owner>/property-listings:<version>
#   e.g. deploy/push.sh ghcr.io/acme/property-listings:0.1.0
# Needs: the Spin CLI (>= 4.1) on PATH or in SPIN, and a registry you can push to. Logs in first
# when REGISTRY_USER and REGISTRY_PASSWORD are set (else `spin registry login` or `docker
# login` beforehand). Extra arguments go to `spin registry push` (e.g. --insecure).
set -euo pipefail
reference="${1:?usage: deploy/push.sh <registry>/<owner>/property-listings:<version> [push options]}"
shift
spin="${SPIN:-spin}"
cd "$(dirname "$0")/.."

if [[ -n "${REGISTRY_USER:-}" && -n "${REGISTRY_PASSWORD:-}" ]]; then
    printf '%s' "$REGISTRY_PASSWORD" |
        "$spin" registry login "${reference%%/*}" --username "$REGISTRY_USER" --password-stdin
fi
"$spin" build
"$spin" registry push "$reference" "$@"

cat <<NEXT
Pushed $reference. Then, in the namespace of your choice:
  kubectl create secret generic property-listings-libsql \\
      --from-literal=listings-token=<listings token> --from-literal=users-token=<users token>
  sed 's|image: .*|image: "$reference"|' deploy/spinapp.yaml | kubectl apply -f -
NEXT
