"""The Helm chart (deploy/helm/phoenix) validated offline: `helm lint`, and `helm template` piped
to `kubeconform -strict` against the Kubernetes schemas of k8s.io/kubernetes and KEDA's CRDs,
generated under .cache/ by deploy/setup/k8s-tools.sh (`make setup`). A misspelt field, a string
where a number belongs or a broken value must fail here, before a cluster sees it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.deploy.monitoring import REPO

CHART = REPO / "deploy" / "helm" / "phoenix"
VALUE_FILES = sorted((CHART / "ci").glob("*-values.yaml"))
DEFAULT_VALUES = CHART / "ci" / "default-values.yaml"
TOOLS = REPO / ".cache" / "tools" / "bin"
SCHEMAS = REPO / ".cache" / "k8s-schemas"
VERSIONS = dict(
    line.split("=", 1)
    for line in (REPO / "deploy" / "setup" / "k8s-versions.env").read_text().splitlines()
    if line and not line.startswith("#")
)
KUBERNETES_VERSION = VERSIONS["KUBERNETES_VERSION"].removeprefix("v")
TOOL_VERSIONS = {"helm": VERSIONS["HELM_VERSION"], "kubeconform": VERSIONS["KUBECONFORM_VERSION"]}
SCHEMAS_STAMP = SCHEMAS / f".complete-{VERSIONS['KUBERNETES_VERSION']}-{VERSIONS['KEDA_VERSION']}"
SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]


def tool(name: str) -> Path:
    path = TOOLS / name
    if not (path.is_file() and (TOOLS / f".{name}-{TOOL_VERSIONS[name]}").is_file()):
        raise AssertionError(
            f"{path} {TOOL_VERSIONS[name]} is missing: run `make setup` (deploy/setup/k8s-tools.sh builds it)"
        )
    return path


def schema_location() -> Path:
    if not SCHEMAS_STAMP.is_file():
        raise AssertionError(
            f"no schemas for {SCHEMAS_STAMP.name.removeprefix('.complete-')} under {SCHEMAS}: "
            "run `make setup` (deploy/setup/k8s-tools.sh)"
        )
    return SCHEMAS


def helm(*args: str | Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # Helm's own folders go to the test's scratch space: no state from or for a developer's helm.
    homes = {f"HELM_{kind}_HOME": str(tmp_path / f"helm-{kind.lower()}") for kind in ("CACHE", "CONFIG", "DATA")}
    return subprocess.run(
        [str(tool("helm")), *map(str, args)], env={**os.environ, **homes}, capture_output=True, text=True, timeout=60
    )


def render(tmp_path: Path, *options: str | Path, values: Path = DEFAULT_VALUES) -> subprocess.CompletedProcess[str]:
    return helm(
        "template",
        "phoenix",
        CHART,
        "--namespace",
        "phoenix",
        "--kube-version",
        KUBERNETES_VERSION,
        "-f",
        values,
        *options,
        tmp_path=tmp_path,
    )


def kubeconform(manifests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(tool("kubeconform")),
            "-strict",
            "-summary",
            "-schema-location",
            str(schema_location()),
            "-kubernetes-version",
            KUBERNETES_VERSION,
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
        timeout=60,
    )


def rendered(tmp_path: Path, *options: str | Path, values: Path = DEFAULT_VALUES) -> str:
    result = render(tmp_path, *options, values=values)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The chart rendered with ci/default-values.yaml."""
    return rendered(tmp_path_factory.mktemp("helm"))


def documents(manifests: str) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(manifests) if d}


@pytest.mark.parametrize("values", VALUE_FILES, ids=lambda p: p.name)
def test_chart_passes_helm_lint(tmp_path: Path, values: Path) -> None:
    result = helm("lint", CHART, "--strict", "--kube-version", KUBERNETES_VERSION, "-f", values, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", VALUE_FILES, ids=lambda p: p.name)
def test_rendered_chart_passes_kubeconform_strict(tmp_path: Path, values: Path) -> None:
    result = kubeconform(rendered(tmp_path, values=values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0, Skipped: 0" in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["qc.replicas=abc"], "/spec/replicas"),
        (["processor.autoscaling.enabled=false", "processor.replicas=abc"], "/spec/replicas"),
        (["processor.autoscaling.minReplicas=few"], "/spec/minReplicaCount"),
        (["metricsPort=metrics"], "containerPort"),
    ],
)
def test_a_broken_value_fails_kubeconform(tmp_path: Path, options: list[str], message: str) -> None:
    result = kubeconform(rendered(tmp_path, *(arg for option in options for arg in ("--set", option))))
    assert result.returncode != 0, result.stdout
    assert message in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("field", "typo"),
    [
        ("readinessProbe:", "readynessProbe:"),
        ("maxReplicaCount:", "maxReplicasCount:"),
        ("runAsNonRoot:", "runAsNonroot:"),
    ],
)
def test_a_misspelt_field_fails_kubeconform(manifests: str, field: str, typo: str) -> None:
    assert field in manifests
    result = kubeconform(manifests.replace(field, typo, 1))
    assert result.returncode != 0, result.stdout
    assert f"'{typo.rstrip(':')}' not allowed" in result.stdout, result.stdout


def test_an_unknown_kind_fails_rather_than_being_skipped(manifests: str) -> None:
    result = kubeconform(manifests + "---\napiVersion: keda.sh/v1alpha1\nkind: ScaledThing\nmetadata: {name: x}\n")
    assert result.returncode != 0
    assert "could not find schema for ScaledThing" in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("kafka.bootstrapServers=", "kafka.bootstrapServers is required"),
        ("secrets.databaseUrl=", "secrets.databaseUrl (or existingSecret) is required"),
        ("processor.autoscaling.maxReplicas=24", "maxReplicas (24) is above kafka.partitions (12)"),
        ("kafka.securityProtocol=SASL_SSL", "kafka.saslMechanism must be PLAIN"),
    ],
)
def test_a_missing_or_inconsistent_value_stops_helm(tmp_path: Path, option: str, message: str) -> None:
    result = render(tmp_path, "--set", option)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_every_service_runs_its_command_with_probes_on_the_metrics_port(manifests: str) -> None:
    objects = documents(manifests)
    config = objects[("ConfigMap", "phoenix-config")]["data"]
    assert config["PHOENIX_METRICS_HOST"] == "0.0.0.0"
    port = int(config["PHOENIX_METRICS_PORT"])
    for name in SERVICES:
        (container,) = objects[("Deployment", f"phoenix-{name}")]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["service", name, "--group", name]
        assert container["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    (portal,) = objects[("Deployment", "phoenix-portal")]["spec"]["template"]["spec"]["containers"]
    assert portal["args"][:3] == ["portal", "--host", "0.0.0.0"]
    assert portal["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert portal["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_pods_run_as_non_root_on_a_read_only_root_with_no_capabilities(manifests: str) -> None:
    for (kind, name), document in documents(manifests).items():
        if kind != "Deployment":
            continue
        pod = document["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"] == {"drop": ["ALL"]}, name
        writable = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert {"/data", "/cache", "/tmp"} <= writable, name
        assert all("emptyDir" in v for v in pod["volumes"] if v["name"] in ("data", "cache", "tmp")), name


def test_processor_memory_holds_its_concurrent_recipes(tmp_path: Path) -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())["processor"]
    for concurrency in (1, 2, 4):
        objects = documents(rendered(tmp_path, "--set", f"processor.concurrency={concurrency}"))
        (container,) = objects[("Deployment", "phoenix-processor")]["spec"]["template"]["spec"]["containers"]
        memory = values["serviceMemoryMi"] + concurrency * values["recipeMemoryMi"]
        assert container["resources"]["requests"]["memory"] == f"{memory}Mi"
        assert container["resources"]["limits"]["memory"] == f"{memory}Mi"
        assert container["resources"]["requests"]["cpu"] == f"{concurrency * 1000}m"
        assert {"name": "PHOENIX_CONCURRENCY", "value": str(concurrency)} in container["env"]
    assert values["recipeMemoryMi"] >= 2048  # a red-arm 1x1 recipe takes ~2 GB


def test_keda_scales_the_processor_group_on_data_staged(manifests: str) -> None:
    objects = documents(manifests)
    scaled = objects[("ScaledObject", "phoenix-processor")]["spec"]
    assert scaled["scaleTargetRef"] == {"name": "phoenix-processor"}
    assert "replicas" not in objects[("Deployment", "phoenix-processor")]["spec"]  # KEDA owns it
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == "processor"
    assert trigger["metadata"]["topic"] == "data-staged"
    assert int(trigger["metadata"]["lagThreshold"]) >= 1
    config = objects[("ConfigMap", "phoenix-config")]["data"]
    assert trigger["metadata"]["bootstrapServers"] == config["PHOENIX_KAFKA_BOOTSTRAP_SERVERS"]
    assert scaled["maxReplicaCount"] <= int(config["PHOENIX_KAFKA_PARTITIONS"])
    budget = objects[("PodDisruptionBudget", "phoenix-processor")]["spec"]
    assert budget["selector"]["matchLabels"]["app.kubernetes.io/component"] == "processor"


def test_topic_prefix_and_sasl_reach_the_services_and_keda_alike(tmp_path: Path) -> None:
    objects = documents(rendered(tmp_path, values=CHART / "ci" / "sasl-values.yaml"))
    config = objects[("ConfigMap", "phoenix-config")]["data"]
    prefix = config["PHOENIX_KAFKA_TOPIC_PREFIX"]
    (container,) = objects[("Deployment", "phoenix-processor")]["spec"]["template"]["spec"]["containers"]
    group = container["args"][container["args"].index("--group") + 1]
    trigger = objects[("ScaledObject", "phoenix-processor")]["spec"]["triggers"][0]
    assert trigger["metadata"]["consumerGroup"] == group == f"{prefix}processor"
    assert trigger["metadata"]["topic"] == f"{prefix}data-staged"
    assert trigger["metadata"]["sasl"] == "scram_sha512" and trigger["metadata"]["tls"] == "enable"
    authentication = objects[("TriggerAuthentication", trigger["authenticationRef"]["name"])]["spec"]
    keys = {ref["parameter"]: ref["key"] for ref in authentication["secretTargetRef"]}
    assert keys["username"] == "PHOENIX_KAFKA_SASL_USERNAME" and keys["password"] == "PHOENIX_KAFKA_SASL_PASSWORD"
    assert config["PHOENIX_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert ("Secret", "phoenix-credentials") not in objects  # existingSecret: the chart writes none
    assert container["envFrom"][1] == {"secretRef": {"name": "phoenix-credentials"}}


def test_settings_use_the_names_the_code_and_the_object_store_read(manifests: str) -> None:
    objects = documents(manifests)
    config = objects[("ConfigMap", "phoenix-config")]["data"]
    secret = objects[("Secret", "phoenix-credentials")]["stringData"]
    assert {"PHOENIX_STORE_URL", "PHOENIX_S3_ENDPOINT_URL", "AWS_REGION", "PHOENIX_CACHE_DIR"} <= set(config)
    assert {"PHOENIX_DATABASE_URL", "PHOENIX_ARCHIVE_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(
        secret
    )
    assert not set(config) & set(secret)
    # Every PHOENIX_KAFKA_* setting the chart writes is a field of KafkaSettings.
    from shared.settings import KafkaSettings

    fields = {f"PHOENIX_KAFKA_{name.upper()}" for name in KafkaSettings.model_fields}
    written = {key for key in [*config, *secret] if key.startswith("PHOENIX_KAFKA_")}
    assert written <= fields, written - fields


@pytest.mark.parametrize("values", VALUE_FILES, ids=lambda p: p.name)
def test_every_pod_environment_loads_in_phoenix_settings(
    tmp_path: Path, values: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a pod's environment will hold (ConfigMap, the chart's Secret or stand-ins for an
    existing one, the container's env) passes phoenix's own settings classes, as at start-up."""
    from services.processor.settings import ProcessorSettings
    from shared.archive.settings import DatabaseSettings
    from shared.settings import KafkaSettings, RuntimeSettings, load_settings

    objects = documents(rendered(tmp_path, values=values))
    environment = dict(objects[("ConfigMap", "phoenix-config")]["data"])
    secret = objects.get(("Secret", "phoenix-credentials"))
    environment |= (
        secret["stringData"]
        if secret
        else {
            "PHOENIX_DATABASE_URL": "postgresql://phoenix:pw@db:5432/phoenix",
            "PHOENIX_KAFKA_SASL_USERNAME": "phoenix",
            "PHOENIX_KAFKA_SASL_PASSWORD": "pw",
        }
    )
    for name in SERVICES:
        (container,) = objects[("Deployment", f"phoenix-{name}")]["spec"]["template"]["spec"]["containers"]
        for key in [k for k in os.environ if k.startswith(("PHOENIX_", "AWS_"))]:
            monkeypatch.delenv(key)
        for key, value in {**environment, **{e["name"]: e["value"] for e in container["env"]}}.items():
            monkeypatch.setenv(key, value)
        kafka = load_settings(KafkaSettings)
        runtime = load_settings(RuntimeSettings)
        load_settings(DatabaseSettings)
        load_settings(ProcessorSettings)
        assert runtime.metrics_port == int(environment["PHOENIX_METRICS_PORT"]) > 0
        assert runtime.concurrency == int(container["env"][0]["value"])
        assert kafka.max_message_bytes == int(environment["PHOENIX_KAFKA_MAX_MESSAGE_BYTES"])


def test_no_credential_is_written_in_the_chart() -> None:
    values = (CHART / "values.yaml").read_text()
    for key in (
        "databaseUrl",
        "archiveToken",
        "kafkaSaslUsername",
        "kafkaSaslPassword",
        "awsAccessKeyId",
        "awsSecretAccessKey",
    ):
        assert re.search(rf"^\s+{key}: \"\"", values, re.M), key
