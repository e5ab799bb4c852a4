#!/usr/bin/env bash
# Builds the tools `make deploy-check` needs, only those missing (idempotent): helm and
# kubeconform with `go install` into .cache/tools/bin, and the offline schemas kubeconform
# validates against, generated under .cache/k8s-schemas from the Go modules k8s.io/kubernetes
# (api/openapi-spec/v3) and github.com/kedacore/keda/v2 (the ScaledObject CRD). Module sources
# come through `go mod download` (the Go module proxy); nothing else is fetched. The first run
# takes minutes of CPU (helm is a large build); later runs return at once.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=deploy/setup/k8s-versions.env
source "$repo_root/deploy/setup/k8s-versions.env"
tools="$repo_root/.cache/tools/bin"
schemas="$repo_root/.cache/k8s-schemas"
python="${PYTHON:-$repo_root/.venv/bin/python}"
[[ -x "$python" ]] || python=python3

if ! command -v go >/dev/null 2>&1; then
    if [[ -x /usr/local/go/bin/go ]]; then
        PATH="/usr/local/go/bin:$PATH"
    else
        echo "setup: go is needed to build helm and kubeconform (install Go 1.24 or newer)" >&2
        exit 1
    fi
fi
# The machine's own Go builds both; a version needing a newer Go fails here rather than fetching one.
export GOTOOLCHAIN=local

build() {  # build NAME PACKAGE@VERSION VERSION
    local name="$1" package="$2" version="$3" stamp="$tools/.$1-$3"
    if [[ -x "$tools/$name" && -f "$stamp" ]]; then
        echo "setup: $name $version already in $tools"
        return
    fi
    local started=$SECONDS
    mkdir -p "$tools"
    GOBIN="$tools" go install -trimpath -ldflags=-s "$package"
    rm -f "$tools/.$name"-*
    touch "$stamp"
    echo "setup: built $name $version into $tools in $((SECONDS - started)) s"
}

build helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$HELM_VERSION"
build kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" "$KUBECONFORM_VERSION"

stamp="$schemas/.complete-$KUBERNETES_VERSION-$KEDA_VERSION"
if [[ -f "$stamp" ]]; then
    echo "setup: Kubernetes $KUBERNETES_VERSION and KEDA $KEDA_VERSION schemas already in $schemas"
    exit 0
fi
started=$SECONDS
module_dir() { go mod download -json "$1" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'; }
kubernetes_dir="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")"
keda_dir="$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")"
# Written into a scratch folder and moved into place, so an interrupted run leaves no half set.
mkdir -p "$(dirname "$schemas")"
staging="$(mktemp -d "$schemas.XXXXXX")"
chmod 755 "$staging"
trap 'rm -rf "$staging"' EXIT
"$python" "$repo_root/deploy/setup/k8s_schemas.py" \
    --openapi "$kubernetes_dir/api/openapi-spec/v3" \
    --crd "$keda_dir/config/crd/bases/keda.sh_scaledobjects.yaml" \
    --crd "$keda_dir/config/crd/bases/keda.sh_triggerauthentications.yaml" \
    --kubernetes-version "$KUBERNETES_VERSION" --out "$staging"
touch "$staging/.complete-$KUBERNETES_VERSION-$KEDA_VERSION"
rm -rf "$schemas"
mv "$staging" "$schemas"
echo "setup: wrote Kubernetes $KUBERNETES_VERSION and KEDA $KEDA_VERSION schemas into $schemas in $((SECONDS - started)) s"
