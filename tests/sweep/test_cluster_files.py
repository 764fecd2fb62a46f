"""clusters/: what can be checked without a Docker engine, a cloud account or Kubernetes."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from sweep_helpers import REPO

CLUSTERS = REPO / "clusters"


def test_cluster_launcher_config_is_valid_for_ray() -> None:
    import jsonschema
    import ray
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load((CLUSTERS / "aws-g5.yaml").read_text())
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    jsonschema.validate(config, schema)
    validate_config(prepare_config(config))           # what `ray up` does before contacting AWS
    types = config["available_node_types"]
    head = types[config["head_node_type"]]["resources"]
    assert head["CPU"] >= 1 and head.get("GPU", 0) == 0       # trials' own processes, no trial workers
    assert all(t["resources"].get("GPU", 0) >= 1 for n, t in types.items() if n != config["head_node_type"])
    starts = " ".join(config["head_start_ray_commands"] + config["worker_start_ray_commands"])
    assert starts.count("RAY_AUTH_MODE=token") == 2 and "--dashboard-host=127.0.0.1" in starts
    assert "~/.ray/auth_token" in config["file_mounts"]


def test_rayjob_runs_a_study_with_token_auth() -> None:
    docs = list(yaml.safe_load_all((CLUSTERS / "kuberay-rayjob.yaml").read_text()))
    job = next(d for d in docs if d["kind"] == "RayJob")
    assert job["apiVersion"] == "ray.io/v1"
    words = shlex.split(job["spec"]["entrypoint"])
    assert words[:2] == ["python", "experiments/sweep.py"]
    assert (REPO / words[words.index("--study") + 1]).is_file()
    cluster = job["spec"]["rayClusterSpec"]
    assert cluster["authOptions"]["mode"] == "token"
    assert cluster["rayVersion"] == "2.60.0"
    assert int(cluster["headGroupSpec"]["rayStartParams"]["num-cpus"]) >= 1
    worker = cluster["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"
    claim = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_dockerfile_builds_the_cuda_stack_with_the_install_script() -> None:
    text = (CLUSTERS / "Dockerfile").read_text()
    lines = [ln for ln in re.sub(r"\\\n", " ", text).splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    instructions = [ln.split()[0].upper() for ln in lines]
    assert instructions[0] == "FROM" and re.search(r"FROM nvidia/cuda:13\.0\.\d+-runtime", lines[0])
    assert set(instructions) <= {"FROM", "ARG", "RUN", "WORKDIR", "COPY", "USER", "ENV", "CMD"}
    env = " ".join(ln for ln in lines if ln.startswith("ENV"))
    assert "FORCE_CUDA=1" in env and "PYTHON=python3.11" in env
    assert "RAY_worker_niceness=0" in env  # every `ray start` in the image (ray up, KubeRay): training at nice 0
    # the compiler is the pinned one install_stack.sh puts in the venv, as for `FORCE_CUDA=1 make install`
    assert "CUDA_HOME" not in env
    assert re.search(r'TORCH_CUDA_ARCH_LIST="8\.0;8\.6;9\.0"', text)
    assert any(ln.startswith("RUN bash scripts/install_stack.sh") for ln in lines)
    for ln in lines:
        if ln.startswith("COPY"):
            sources = [w for w in ln.split()[1:-1] if not w.startswith("--")]
            for src in sources:
                assert src == "." or (REPO / src).exists(), src
    ignored = (CLUSTERS / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "data", "sweeps", "mlruns"} <= set(ignored)


def test_mlflow_server_definitions() -> None:
    compose = yaml.safe_load((CLUSTERS / "mlflow" / "compose.yaml").read_text())
    services = compose["services"]
    assert "postgresql://" in services["mlflow"]["command"] and "s3://" in services["mlflow"]["command"]
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published and all(p.startswith("127.0.0.1:") for p in published)
    k8s = list(yaml.safe_load_all((CLUSTERS / "mlflow" / "k8s.yaml").read_text()))
    kinds = sorted(d["kind"] for d in k8s)
    assert kinds == ["Deployment", "Service", "Service", "StatefulSet"]
    assert all(d["spec"].get("type", "ClusterIP") == "ClusterIP" for d in k8s if d["kind"] == "Service")
    args = " ".join(next(d for d in k8s if d["kind"] == "Deployment")["spec"]["template"]["spec"]
                    ["containers"][0]["args"])
    assert "--backend-store-uri postgresql://" in args and "--artifacts-destination s3://" in args
    # MLflow's authentication, its secrets from Kubernetes secrets / the Compose .env, never inline
    assert "--app-name basic-auth" in args and "mlflow-auth-config" in args
    assert "--app-name basic-auth" in services["mlflow"]["command"]
    env = {e["name"]: e for e in next(d for d in k8s if d["kind"] == "Deployment")["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    for name in ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "mlflow-auth"
        assert services["mlflow"]["environment"][name].startswith("${")
    assert "Flask-WTF==" in (CLUSTERS / "mlflow" / "Dockerfile").read_text()
    rayjob = next(d for d in yaml.safe_load_all((CLUSTERS / "kuberay-rayjob.yaml").read_text())
                  if d["kind"] == "RayJob")
    spec = rayjob["spec"]["rayClusterSpec"]
    pods = [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]
    for pod in pods:   # every Ray node sends the MLflow login
        assert {"secretRef": {"name": "refined-det-mlflow-login"}} in pod["spec"]["containers"][0]["envFrom"]


@pytest.mark.parametrize("pattern", ["/data/", "*.pth", "/sweeps/", "mlruns/", "mlflow.db", ".venv/", ".git/"])
def test_rayignore_keeps_data_and_results_out_of_jobs(pattern: str) -> None:
    assert pattern in (REPO / ".rayignore").read_text().split()
