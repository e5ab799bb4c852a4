#!/usr/bin/env bash
# Fetches s3proxy (one self-contained jar from Maven Central) for the tests' real S3 server
# (idempotent). The jar goes to $PHOENIX_S3PROXY_JAR, by default .cache/s3proxy-<version>.jar
# in the repo. Needs java 17 and mvn (deploy/setup/system.sh).
set -euo pipefail

version="4.1.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
jar="${PHOENIX_S3PROXY_JAR:-$repo_root/.cache/s3proxy-$version.jar}"

if [[ -f "$jar" ]]; then
    echo "setup: s3proxy $version already at $jar"
    exit 0
fi

mkdir -p "$(dirname "$jar")"
staging="$(mktemp -d "$(dirname "$jar")/.s3proxy.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
if ! mvn -q -B dependency:copy -Dartifact="org.gaul:s3proxy:$version:jar:jar-with-dependencies" \
        -DoutputDirectory="$staging" >"$staging/mvn.log" 2>&1; then
    cat "$staging/mvn.log" >&2
    echo "setup: could not fetch s3proxy $version from Maven Central" >&2
    exit 1
fi
mv "$staging/s3proxy-$version-jar-with-dependencies.jar" "$jar"
echo "setup: fetched s3proxy $version into $jar"
