#!/usr/bin/env bash
# Installs the system packages phoenix needs, only those missing (idempotent, needs root):
# esorex + the UVES and GIRAFFE pipelines, PostgreSQL, Java 17 (Apache Kafka test fixture),
# Maven (fetches the Kafka jars from Maven Central), Prometheus (promtool and the monitoring
# test) and Chromium (screenshot tests of the history website).
set -euo pipefail

missing=()
need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }

need esorex
need cpl-plugin-uves
need cpl-plugin-giraf
need postgresql
need prometheus
need chromium
need chromium-driver
command -v java >/dev/null 2>&1 || need openjdk-17-jre-headless
command -v mvn >/dev/null 2>&1 || need maven

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
