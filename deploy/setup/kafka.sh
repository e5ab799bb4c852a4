#!/usr/bin/env bash
# Fetches Apache Kafka (KRaft broker + storage tool) and its runtime jars from Maven Central
# for the integration tests (idempotent). Jars go to $PHOENIX_KAFKA_HOME/libs, by default
# .cache/kafka-<version>/libs in the repo. Needs java and mvn (deploy/setup/system.sh).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pom="$repo_root/deploy/setup/kafka/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
home="${PHOENIX_KAFKA_HOME:-$repo_root/.cache/kafka-$version}"
libs="$home/libs"

if [[ -f "$libs/.complete" && -f "$libs/kafka_2.13-$version.jar" ]]; then
    echo "setup: Apache Kafka $version already in $libs"
    exit 0
fi

# Copy into a scratch folder and move it into place, so an interrupted run leaves no half set.
mkdir -p "$home"
staging="$(mktemp -d "$home/.libs.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
started=$SECONDS
# Maven's output is kept aside and shown only on failure (Debian's mvn 3.8 prints stray
# colour codes even in batch mode).
if ! mvn -q -B -f "$pom" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$staging" >"$staging/mvn.log" 2>&1; then
    cat "$staging/mvn.log" >&2
    echo "setup: could not fetch Apache Kafka $version from Maven Central" >&2
    exit 1
fi
rm "$staging/mvn.log"
test -f "$staging/kafka_2.13-$version.jar"
touch "$staging/.complete"
rm -rf "$libs"
mv "$staging" "$libs"
echo "setup: fetched Apache Kafka $version ($(ls "$libs" | wc -l) jars) into $libs in $((SECONDS - started)) s"
