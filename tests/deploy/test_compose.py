"""compose.yaml: PostgreSQL and two nodes of one chain, from one image.

Read with PyYAML and held to the Dockerfile and the entrypoint script (the same image,
healthcheck, home and port), and, where ``docker compose`` or ``docker-compose`` is
installed, checked by ``config`` (which needs no daemon).
"""

import json
import os
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ADMIN
from tests.deploy.files import ROOT, check_cli_args, compose, dockerfile, interpolate

NODES = ("node-1", "node-2")
ENV = {"WM_ADMIN": ADMIN, "WM_DB_PASSWORD": "s3cretPassw0rd"}


def _services() -> dict[str, Any]:
    services = compose()["services"]
    assert isinstance(services, dict)
    return services


def test_the_services_are_postgres_and_two_nodes() -> None:
    assert set(_services()) == {"postgres", *NODES}


def test_postgres_is_the_official_image_on_a_volume_with_a_healthcheck() -> None:
    postgres = _services()["postgres"]
    assert postgres["image"].split(":")[0] == "postgres"
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    test = postgres["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "pg_isready" in test[1]
    assert postgres["restart"] == "unless-stopped"


def test_both_nodes_run_the_one_image() -> None:
    services = _services()
    images = {services[name]["image"] for name in NODES}
    builds = {services[name]["build"] for name in NODES}
    assert len(images) == 1
    assert builds == {"."}
    assert (ROOT / "Dockerfile").is_file()


def test_the_nodes_start_through_the_entrypoint_script_and_serve() -> None:
    image = dockerfile()
    (copy,) = [c.args for c in image.final.all("COPY") if "entrypoint.sh" in c.args]
    installed = copy.split()[-1]
    for name in NODES:
        node = _services()[name]
        assert node["entrypoint"] == [installed.rsplit("/", 1)[-1]]
        assert node["command"] == image.final.one("CMD").exec_form()
        check_cli_args(node["command"])
        assert node["restart"] == "unless-stopped"


def test_the_nodes_have_the_image_healthcheck() -> None:
    image = dockerfile()
    _, _, form = image.final.one("HEALTHCHECK").args.partition(" CMD ")
    expected = ["CMD", *json.loads(form)]
    for name in NODES:
        assert _services()[name]["healthcheck"]["test"] == expected


def test_each_node_has_its_own_home_volume_and_port() -> None:
    services = _services()
    home = dockerfile().env()["WM_HOME"]
    mounts = {name: services[name]["volumes"][0] for name in NODES}
    assert mounts == {"node-1": f"node-1-home:{home}", "node-2": f"node-2-home:{home}"}
    declared = set(compose()["volumes"])
    used = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert used == declared == {"postgres-data", "node-1-home", "node-2-home"}
    published = [services[name]["ports"][0].rsplit(":", 2) for name in NODES]
    assert [p[2] for p in published] == ["1317", "1317"]
    assert len({p[1] for p in published}) == 2, "the nodes are published on distinct ports"


def test_node_1_inits_and_node_2_joins_with_its_seed() -> None:
    services = _services()
    first, second = (services[name]["environment"] for name in NODES)
    assert {"WM_CHAIN_ID", "WM_ADMIN"} <= set(first)
    assert "WM_NODE_SEED_FILE" not in first
    assert "WM_CHAIN_ID" not in second
    assert "WM_ADMIN" not in second
    # node-2 reads node-1's home read-only, and the seed file is in its secrets
    seed = second["WM_NODE_SEED_FILE"]
    mounted = [v for v in services["node-2"]["volumes"] if v.startswith("node-1-home:")]
    assert len(mounted) == 1
    _, target, mode = mounted[0].split(":")
    assert mode == "ro"
    assert seed == f"{target}/secrets/node.seed"
    # node-2 starts once node-1 answers (its seed exists, the chain is in the database)
    assert services["node-2"]["depends_on"]["node-1"] == {"condition": "service_healthy"}
    for name in NODES:
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_both_nodes_use_the_postgres_database() -> None:
    services = _services()
    postgres = {k: interpolate(v, ENV) for k, v in services["postgres"]["environment"].items()}
    urls = {interpolate(services[name]["environment"]["WM_DATABASE_URL"], ENV) for name in NODES}
    assert len(urls) == 1
    url = urlsplit(urls.pop())
    assert url.scheme == "postgresql+psycopg"
    assert url.hostname == "postgres"
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"] == ENV["WM_DB_PASSWORD"]
    assert url.path == f"/{postgres['POSTGRES_DB']}"


def test_the_admin_and_the_password_must_be_given() -> None:
    services = _services()
    with pytest.raises(KeyError, match="WM_ADMIN"):
        interpolate(services["node-1"]["environment"]["WM_ADMIN"], {})
    with pytest.raises(KeyError, match="WM_DB_PASSWORD"):
        interpolate(services["postgres"]["environment"]["POSTGRES_PASSWORD"], {})
    chain_id = services["node-1"]["environment"]["WM_CHAIN_ID"]
    assert interpolate(chain_id, {}) == "worker-manager-1"


def _compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_accepts_it() -> None:
    command = _compose_command()
    if command is None:
        missing = "neither `docker compose` nor `docker-compose` is installed"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: .ci/run installs docker-compose")
        pytest.skip(missing)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", **ENV}
    checked = subprocess.run(
        [*command, "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    missing = subprocess.run(
        [*command, "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        capture_output=True, text=True, env={"PATH": env["PATH"]}, cwd=ROOT, timeout=120,
        check=False,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "WM_" in missing.stdout + missing.stderr
