"""The Helm chart: lint, render, schema validity, values schema, secrets and properties."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.helm.conftest import CHART, CI_VALUES, NAMESPACE, RELEASE, Helm, load_values

KUBERNETES_VERSION = "1.30.0"
KUBERAY_CRD = Path(__file__).resolve().parents[3] / "shared/schemas/kuberay/ray.io_rayclusters.yaml"
CI_IDS = [path.stem for path in CI_VALUES]
MINIMAL = CHART / "ci" / "minimal-values.yaml"
GPU = CHART / "ci" / "gpu-cluster-values.yaml"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}


@pytest.fixture(params=CI_VALUES, ids=CI_IDS)
def ci_values(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture
def docs(helm: Helm, ci_values: Path) -> list[dict[str, Any]]:
    return helm.template(ci_values).docs


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return found


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner name, pod template) of every workload, RayCluster head and worker groups too."""
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in WORKLOAD_KINDS:
            yield name, doc["spec"]["template"]
        elif doc["kind"] == "CronJob":
            yield name, doc["spec"]["jobTemplate"]["spec"]["template"]
        elif doc["kind"] == "RayCluster":
            yield f"{name}/head", doc["spec"]["headGroupSpec"]["template"]
            for group in doc["spec"].get("workerGroupSpecs", []):
                yield f"{name}/{group['groupName']}", group["template"]


# --- lint and render --------------------------------------------------------------------


@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=["defaults", *CI_IDS])
def test_helm_lint_strict_passes(helm: Helm, values: Path | None) -> None:
    args = ["lint", "--strict", str(CHART)] + (["--values", str(values)] if values else [])
    result = helm.run(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_every_ci_values_file_renders_the_whole_hub(docs: list[dict[str, Any]]) -> None:
    kinds = {doc["kind"] for doc in docs}
    assert {
        "Deployment",
        "Service",
        "ConfigMap",
        "Secret",
        "RayCluster",
        "ServiceAccount",
        "ClusterRole",
        "Role",
        "NetworkPolicy",
        "CronJob",
    } <= kinds
    deployments = {d["metadata"]["name"] for d in of_kind(docs, "Deployment")}
    assert deployments == {f"{RELEASE}-axhub-{c}" for c in ("api", "scheduler", "portal", "mlflow")}


def test_manifests_are_valid_kubernetes_objects(docs: list[dict[str, Any]]) -> None:
    failures = []
    for doc in docs:
        if doc["apiVersion"].startswith("ray.io/"):
            continue  # a CRD: checked against KubeRay's schema below
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not failures


def _no_unknown_fields(schema: Any) -> Any:
    """The API server prunes (or, with strict field validation, rejects) unknown fields of a
    structural schema: make jsonschema reject them too."""
    if isinstance(schema, dict):
        schema = {key: _no_unknown_fields(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_no_unknown_fields(item) for item in schema]
    return schema


@pytest.fixture(scope="session")
def raycluster_schema() -> dict[str, Any]:
    if not KUBERAY_CRD.exists():
        pytest.skip(f"KubeRay CRD not found at {KUBERAY_CRD}")
    crd = yaml.load(KUBERAY_CRD.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1" and v["served"]]
    schema = _no_unknown_fields(served["schema"]["openAPIV3Schema"])
    for field in ("apiVersion", "kind", "metadata"):
        schema["properties"].setdefault(
            field, {"type": "object" if field == "metadata" else "string"}
        )
    return schema


def test_raycluster_matches_the_kuberay_crd(
    docs: list[dict[str, Any]], raycluster_schema: dict[str, Any]
) -> None:
    (cluster,) = of_kind(docs, "RayCluster")
    assert cluster["apiVersion"] == "ray.io/v1"
    errors = jsonschema.Draft7Validator(raycluster_schema).iter_errors(cluster)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_the_crd_check_catches_a_misspelt_field(raycluster_schema: dict[str, Any]) -> None:
    bad = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "x"}}
    bad["spec"] = {"headGroupSpec": {"template": {"spec": {"containers": []}}}, "workerGroup": []}
    assert not jsonschema.Draft7Validator(raycluster_schema).is_valid(bad)


# --- values schema and required secrets -----------------------------------------------------

GROUP = "rayCluster.workerGroups.t4"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ((f'{GROUP}:={{"replicas": 1, "gpus": -1, "gpuType": "T4"}}',), "minimum: got -1, want 1"),
        ((f'{GROUP}:={{"replicas": 1, "gpus": 0, "gpuType": "T4"}}',), "minimum: got 0, want 1"),
        ((f'{GROUP}:={{"replicas": 1, "gpus": 1.5, "gpuType": "T4"}}',), "want integer"),
        ((f'{GROUP}:={{"replicas": 1, "gpus": 1, "gpuType": {{"model": "T4"}}}}',), "want string"),
        ((f'{GROUP}:={{"replicas": 1, "gpus": 1, "gpuType": "Tesla T4"}}',), "gpuType"),
        ((f'{GROUP}:={{"replicas": 1, "gpus": 1, "gpuType": "gpu_type:T4"}}',), "gpuType"),
        ((f'{GROUP}:={{"replicas": 1, "gpus": 1}}',), "gpuType"),
        ((f'{GROUP}:={{"replicas": 1, "gpus": 1, "gpuType": "T4", "gpu": 2}}',), "gpu"),
        (
            ('rayCluster.workerGroups.T4_big:={"replicas": 1, "gpus": 1, "gpuType": "T4"}',),
            "T4_big",
        ),
        (("api.replicas=-1",), "/api/replicas"),
        (("scheduler.replicas=0",), "/scheduler/replicas"),
        (("config.environment=prod",), "/config/environment"),
        (("config.extraEnv.SECRET=x",), "'SECRET' does not match"),
        (("secrets.secretKey=too-short",), "/secrets/secretKey"),
        (("mlflow.auth.adminPassword=short",), "/mlflow/auth/adminPassword"),
        (("postgresql.auth.password=has@sign",), "/postgresql/auth/password"),
        (("persistence.accessModes={ReadWriteSometimes}",), "/persistence/accessModes"),
        (("podSecurityContext.runAsNonRoot=false",), "/podSecurityContext/runAsNonRoot"),
        (("apiReplicas=2",), "apiReplicas"),
        (("config.attachments.storage=gcs",), "/config/attachments/storage"),
        (("config.attachments.storage=s3",), "/config/attachments/s3/bucket"),
        (("config.attachments.s3.keyPrefix=/abs",), "/config/attachments/s3/keyPrefix"),
        (("config.attachments.s3.endpointUrl=minio:9000",), "/config/attachments/s3/endpointUrl"),
        (("grantsHousekeeping.schedule=hourly",), "/grantsHousekeeping/schedule"),
        (("grantsHousekeeping.resources.limits.memory=lots",), "/grantsHousekeeping/resources"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None,
)
def test_values_schema_rejects_bad_values(helm: Helm, sets: tuple[str, ...], message: str) -> None:
    result = helm.template(MINIMAL, sets=sets)
    assert result.returncode != 0
    assert "don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("secrets.secretKey=",), "secrets.secretKey is required"),
        (("postgresql.auth.password=",), "postgresql.auth.password is required"),
        (("mlflow.auth.adminPassword=",), "mlflow.auth.adminPassword is required"),
        (
            (
                "config.attachments.storage=s3",
                "config.attachments.s3.bucket=attachments",
                "secrets.s3AccessKeyId=key-without-secret",
            ),
            "secrets.s3AccessKeyId and secrets.s3SecretAccessKey must be set together",
        ),
    ],
)
def test_a_missing_secret_fails_the_render(helm: Helm, sets: tuple[str, ...], message: str) -> None:
    result = helm.template(MINIMAL, sets=sets)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_defaults_alone_do_not_render(helm: Helm) -> None:
    """No default secret ever: `helm install` without a secret key fails."""
    result = helm.template()
    assert result.returncode != 0
    assert "is required" in result.stderr


def test_an_existing_secret_replaces_the_chart_secret(helm: Helm) -> None:
    docs = helm.template(sets=("secrets.existingSecret=hub-prod",)).docs
    assert of_kind(docs, "Secret") == []
    api = one(docs, "Deployment", f"{RELEASE}-axhub-api")
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for c in api["spec"]["template"]["spec"]["containers"]
        for e in c.get("env", [])
        if "valueFrom" in e
    }
    assert refs == {"hub-prod"}


def test_an_external_database_needs_an_mlflow_backend_url(helm: Helm) -> None:
    result = helm.template(MINIMAL, sets=("postgresql.external.url=postgresql://u:p@db:5432/x",))
    assert result.returncode != 0
    assert "mlflow.backendStore.url is required" in result.stderr


# --- properties of every render ---------------------------------------------------------------


def test_every_long_running_container_has_liveness_and_readiness_probes(
    docs: list[dict[str, Any]],
) -> None:
    missing = [
        f"{owner}/{container['name']}: {probe}"
        for doc in docs
        if doc["kind"] in {"Deployment", "StatefulSet"}
        for owner, template in [(doc["metadata"]["name"], doc["spec"]["template"])]
        for container in template["spec"]["containers"]
        for probe in ("livenessProbe", "readinessProbe")
        if probe not in container
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("component", "path"),
    [("api", "/api/v1/health/live"), ("portal", "/_stcore/health"), ("mlflow", "/health")],
)
def test_http_probes_hit_the_health_routes(
    docs: list[dict[str, Any]], component: str, path: str
) -> None:
    container = one(docs, "Deployment", f"{RELEASE}-axhub-{component}")["spec"]["template"]
    probe_paths = {
        container_spec[probe]["httpGet"]["path"]
        for container_spec in container["spec"]["containers"]
        for probe in ("livenessProbe", "readinessProbe")
    }
    assert path in probe_paths
    if component == "api":
        assert "/api/v1/health/ready" in probe_paths


def test_no_container_runs_as_root(docs: list[dict[str, Any]]) -> None:
    offenders = []
    for owner, template in pod_specs(docs):
        pod = template["spec"].get("securityContext", {})
        for container in template["spec"]["containers"] + template["spec"].get(
            "initContainers", []
        ):
            merged = {**pod, **container.get("securityContext", {})}
            if not merged.get("runAsNonRoot") or merged.get("runAsUser", 1) == 0:
                offenders.append(f"{owner}/{container['name']}: may run as root")
            if container.get("securityContext", {}).get("allowPrivilegeEscalation") is not False:
                offenders.append(f"{owner}/{container['name']}: privilege escalation allowed")
            if "ALL" not in container.get("securityContext", {}).get("capabilities", {}).get(
                "drop", []
            ):
                offenders.append(f"{owner}/{container['name']}: capabilities not dropped")
    assert offenders == []


def test_every_pod_meets_the_restricted_pod_security_standard(docs: list[dict[str, Any]]) -> None:
    """runAsNonRoot, no privilege escalation, all capabilities dropped (above) and the
    RuntimeDefault seccomp profile, so the namespace may enforce `restricted`."""
    unconfined = [
        owner
        for owner, template in pod_specs(docs)
        if template["spec"].get("securityContext", {}).get("seccompProfile", {}).get("type")
        != "RuntimeDefault"
        or template["spec"].get("hostNetwork")
        or template["spec"].get("hostPID")
    ]
    assert unconfined == []


def test_root_filesystems_are_read_only_except_ray(docs: list[dict[str, Any]]) -> None:
    writable = [
        f"{owner}/{container['name']}"
        for owner, template in pod_specs(docs)
        for container in template["spec"]["containers"]
        if not container["securityContext"].get("readOnlyRootFilesystem")
    ]
    assert all(name.startswith("RayCluster/") for name in writable), writable


def test_every_container_has_requests_and_limits(docs: list[dict[str, Any]]) -> None:
    bare = [
        f"{owner}/{container['name']}"
        for owner, template in pod_specs(docs)
        for container in template["spec"]["containers"] + template["spec"].get("initContainers", [])
        if not {"requests", "limits"} <= set(container.get("resources", {}))
    ]
    assert bare == []


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
        if expression["operator"] == "Exists" and value is None:
            return False
    return True


def test_every_deployment_with_replicas_has_a_pdb(docs: list[dict[str, Any]]) -> None:
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for deployment in of_kind(docs, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs if _selects(p["spec"]["selector"], labels)]
        if deployment["spec"]["replicas"] > 1:
            assert len(covering) == 1, deployment["metadata"]["name"]
            assert covering[0]["spec"]["minAvailable"] < deployment["spec"]["replicas"]
        else:
            assert covering == [], deployment["metadata"]["name"]  # would block node drains


def test_the_defaults_run_two_schedulers_and_ha_pdbs(helm: Helm) -> None:
    docs = helm.template(MINIMAL, sets=("scheduler.replicas=2",)).docs
    scheduler = one(docs, "Deployment", f"{RELEASE}-axhub-scheduler")
    assert load_values()["scheduler"]["replicas"] == 2
    assert scheduler["spec"]["replicas"] == 2
    assert one(docs, "PodDisruptionBudget", f"{RELEASE}-axhub-scheduler")


def test_a_default_deny_network_policy_exists(docs: list[dict[str, Any]]) -> None:
    deny = [
        p
        for p in of_kind(docs, "NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert len(deny) == 1


# NetworkPolicy semantics, enough for the chart's own rules: a connection is allowed when an
# egress rule of a policy selecting the source and an ingress rule of a policy selecting the
# destination both admit it (pods selected by no policy of a type are open for that type).


def _pod_labels(docs: list[dict[str, Any]]) -> dict[str, tuple[dict[str, str], dict[str, int]]]:
    """component -> (pod labels, named container ports)."""
    pods = {}
    for _owner, template in pod_specs(docs):
        labels = template["metadata"]["labels"]
        ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"]["containers"]
            for p in c.get("ports", [])
            if "name" in p
        }
        pods[labels["app.kubernetes.io/component"]] = (labels, ports)
    return pods


def _peer_matches(peer: dict[str, Any], labels: dict[str, str]) -> bool:
    if "ipBlock" in peer:  # a block may well contain pod IPs
        return ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen == 0
    namespace_ok = "namespaceSelector" not in peer or _selects(
        peer["namespaceSelector"], {"kubernetes.io/metadata.name": NAMESPACE}
    )
    pod_ok = "podSelector" not in peer or _selects(peer["podSelector"], labels)
    return namespace_ok and pod_ok


def _rule_admits(rule: dict[str, Any], peer_key: str, labels: dict[str, str], port: int) -> bool:
    peers = rule.get(peer_key)
    if peers is not None and not any(_peer_matches(p, labels) for p in peers):
        return False
    ports = rule.get("ports")
    return ports is None or any(p.get("port") == port for p in ports)


def _allowed(docs: list[dict[str, Any]], source: str, target: str, port: int) -> bool:
    pods = _pod_labels(docs)
    source_labels, target_labels = pods[source][0], pods[target][0]
    policies = of_kind(docs, "NetworkPolicy")

    def admitted(direction: str, selected: dict[str, str], other: dict[str, str]) -> bool:
        applying = [
            p
            for p in policies
            if direction in p["spec"]["policyTypes"]
            and _selects(p["spec"]["podSelector"], selected)
        ]
        key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        return not applying or any(
            _rule_admits(rule, peer_key, other, port)
            for p in applying
            for rule in p["spec"].get(key, [])
        )

    return admitted("Egress", source_labels, target_labels) and admitted(
        "Ingress", target_labels, source_labels
    )


@pytest.mark.parametrize(
    ("source", "target", "port", "allowed"),
    [
        ("portal", "api", 8000, True),
        ("api", "postgresql", 5432, True),
        ("scheduler", "postgresql", 5432, True),
        ("mlflow", "postgresql", 5432, True),
        ("api", "mlflow", 5000, True),
        ("api", "ray-head", 8265, True),
        ("scheduler", "ray-head", 8265, True),
        ("ray-head", "mlflow", 5000, True),
        ("ray-head", "ray-head", 6379, True),
        ("portal", "postgresql", 5432, False),
        ("portal", "mlflow", 5000, False),
        ("portal", "ray-head", 8265, False),
        ("ray-head", "postgresql", 5432, False),
        ("ray-head", "api", 8000, False),
        ("mlflow", "ray-head", 8265, False),
        ("api", "ray-head", 6379, False),
        ("postgresql", "api", 8000, False),
        ("grants-housekeeping", "postgresql", 5432, True),
        ("grants-housekeeping", "api", 8000, False),
        ("grants-housekeeping", "ray-head", 8265, False),
        ("portal", "grants-housekeeping", 8000, False),
    ],
)
def test_network_policies_allow_only_the_hubs_paths(
    helm: Helm, source: str, target: str, port: int, allowed: bool
) -> None:
    docs = helm.template(MINIMAL).docs  # in-cluster PostgreSQL: every component is a pod here
    assert _allowed(docs, source, target, port) is allowed


def _as_kuberay_parses_it(value: str) -> dict[str, float]:
    """KubeRay (ray-operator/controllers/ray/common/pod.go, getResourcesMap) trims quotes and
    spaces off rayStartParams.resources and json-decodes it; a failure is logged on every pod
    build and skips its accelerator handling."""
    parsed: dict[str, float] = json.loads(value.strip("'\"` "))
    return parsed


def _as_ray_start_sees_it(value: str, *, pod: str) -> str:
    """KubeRay runs `ray start ... --resources=<value> ...` through `bash -lc`: the argument
    `ray start` receives after bash has unquoted and expanded it (pod name in the env)."""
    env = {"PATH": os.environ["PATH"], "AXHUB_NODE_NAME": pod}
    done = subprocess.run(
        ["bash", "-c", f"printf %s {value}"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gpu_worker_groups_carry_gpu_type_resources_matching_values(helm: Helm) -> None:
    values = load_values(GPU)["rayCluster"]["workerGroups"]
    (cluster,) = of_kind(helm.template(GPU).docs, "RayCluster")
    groups = {g["groupName"]: g for g in cluster["spec"]["workerGroupSpecs"]}
    assert set(groups) == set(values) == {"a100", "l40s"}
    for name, wanted in values.items():
        group = groups[name]
        params = group["rayStartParams"]
        gpu_type = f"gpu_type:{wanted['gpuType']}"
        resources = json.loads(_as_ray_start_sees_it(params["resources"], pod="w-1"))
        assert resources == {gpu_type: wanted["gpus"], "axhub_node:w-1": 1}
        assert _as_kuberay_parses_it(params["resources"])[gpu_type] == wanted["gpus"]
        assert params["num-gpus"] == str(wanted["gpus"])
        assert group["replicas"] == wanted["replicas"]
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        (container,) = group["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["AXHUB_NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert container["resources"]["limits"]["nvidia.com/gpu"] == wanted["gpus"]
        assert container["resources"]["requests"]["nvidia.com/gpu"] == wanted["gpus"]
        assert group["template"]["spec"]["nodeSelector"] == wanted["nodeSelector"]


def test_the_ray_head_takes_no_work(docs: list[dict[str, Any]]) -> None:
    (cluster,) = of_kind(docs, "RayCluster")
    params = cluster["spec"]["headGroupSpec"]["rayStartParams"]
    assert params["num-gpus"] == "0"
    assert params["num-cpus"] == "0"
    assert params["dashboard-host"] == "0.0.0.0"


def test_hub_settings_point_at_the_cluster_and_hold_no_secret(docs: list[dict[str, Any]]) -> None:
    config = one(docs, "ConfigMap", f"{RELEASE}-axhub-config")["data"]
    (cluster,) = of_kind(docs, "RayCluster")
    assert config["HUB_ENVIRONMENT"] == "production"
    assert config["HUB_RAY_ADDRESS"] == (
        f"http://{cluster['metadata']['name']}-head-svc.{NAMESPACE}.svc:8265"
    )
    assert (
        config["HUB_MLFLOW_TRACKING_URI"] == f"http://{RELEASE}-axhub-mlflow.{NAMESPACE}.svc:5000"
    )
    secret_names = {
        "HUB_SECRET_KEY",
        "HUB_DATABASE_URL",
        "HUB_MLFLOW_ADMIN_PASSWORD",
        "HUB_METRICS_TOKEN",
        "HUB_SMTP_PASSWORD",
        "HUB_S3_ACCESS_KEY_ID",
        "HUB_S3_SECRET_ACCESS_KEY",
    }
    assert not secret_names & set(config)
    secret = one(docs, "Secret", f"{RELEASE}-axhub-secrets")["stringData"]
    assert len(secret["HUB_SECRET_KEY"]) >= 32
    assert secret["HUB_DATABASE_URL"].startswith("postgresql+psycopg://")


@pytest.mark.parametrize("component", ["api", "scheduler"])
def test_hub_processes_start_after_db_upgrade_in_an_init_container(
    docs: list[dict[str, Any]], component: str
) -> None:
    """No Helm hook (post-install hooks would wait for pods that need the schema)."""
    pod = one(docs, "Deployment", f"{RELEASE}-axhub-{component}")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["command"] == ["axhub", "db", "upgrade"]
    assert init["envFrom"] == pod["containers"][0]["envFrom"]
    assert init["env"] == pod["containers"][0]["env"]
    assert not any("helm.sh/hook" in d["metadata"].get("annotations", {}) for d in docs)
    if component == "api":
        assert "--no-migrate" in pod["containers"][0]["command"]


def test_mlflow_runs_lean_and_accepts_its_service_host(docs: list[dict[str, Any]]) -> None:
    name = f"{RELEASE}-axhub-mlflow"
    (container,) = one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[command.index("--workers") + 1] == "1"
    assert command[command.index("--app-name") + 1] == "basic-auth"
    hosts = command[command.index("--allowed-hosts") + 1].split(",")
    assert {name, f"{name}.{NAMESPACE}.svc", f"{name}.{NAMESPACE}.svc:*"} <= set(hosts)
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"]["value"] == "false"
    assert "secretKeyRef" in env["MLFLOW_AUTH_ADMIN_PASSWORD"]["valueFrom"]


def test_s3_artifacts_when_a_bucket_is_set(helm: Helm) -> None:
    docs = helm.template(GPU).docs
    (container,) = one(docs, "Deployment", f"{RELEASE}-axhub-mlflow")["spec"]["template"]["spec"][
        "containers"
    ]
    command = container["command"]
    assert command[command.index("--artifacts-destination") + 1] == "s3://axhub-mlflow/artifacts"
    assert "mlflow.hub.example.kr" in command[command.index("--allowed-hosts") + 1]
    env = {e["name"] for e in container["env"]}
    assert {"MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= env
    assert of_kind(docs, "StatefulSet") == []  # managed PostgreSQL: none in the cluster


def test_scheduler_may_only_read_nodes_and_pods(docs: list[dict[str, Any]]) -> None:
    rules = [r for kind in ("ClusterRole", "Role") for d in of_kind(docs, kind) for r in d["rules"]]
    assert {"nodes", "pods"} <= {res for r in rules for res in r["resources"]}
    assert {verb for r in rules for verb in r["verbs"]} == {"get", "list", "watch"}
    (binding,) = of_kind(docs, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"{RELEASE}-axhub-scheduler", "namespace": NAMESPACE}
    ]


def test_only_the_scheduler_mounts_a_service_account_token(docs: list[dict[str, Any]]) -> None:
    mounting = {
        owner
        for owner, template in pod_specs(docs)
        if template["spec"].get("automountServiceAccountToken", True)
    }
    assert mounting == {f"Deployment/{RELEASE}-axhub-scheduler"}


def test_values_files_merge_like_helm() -> None:
    merged = load_values(GPU)
    assert merged["api"]["replicas"] == 2  # from values.yaml
    assert merged["rayCluster"]["workerGroups"]["a100"]["gpus"] == 8  # from the ci file


def test_every_service_reaches_a_named_port_of_its_pods(docs: list[dict[str, Any]]) -> None:
    pods = [template for _owner, template in pod_specs(docs)]
    for service in of_kind(docs, "Service"):
        selected = [
            t
            for t in pods
            if _selects({"matchLabels": service["spec"]["selector"]}, t["metadata"]["labels"])
        ]
        assert len(selected) == 1, service["metadata"]["name"]
        names = {p["name"] for c in selected[0]["spec"]["containers"] for p in c.get("ports", [])}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= names


def test_every_secret_configmap_and_claim_a_pod_uses_is_rendered(
    docs: list[dict[str, Any]],
) -> None:
    data = {
        (d["kind"], d["metadata"]["name"]): set(d.get("data") or d.get("stringData") or {})
        for d in docs
        if d["kind"] in {"Secret", "ConfigMap"}
    }
    claims = {d["metadata"]["name"] for d in of_kind(docs, "PersistentVolumeClaim")}
    missing = []
    for owner, template in pod_specs(docs):
        spec = template["spec"]
        for container in spec["containers"] + spec.get("initContainers", []):
            for source in container.get("envFrom", []):
                if ("ConfigMap", source["configMapRef"]["name"]) not in data:
                    missing.append(f"{owner}: ConfigMap {source['configMapRef']['name']}")
            for env in container.get("env", []):
                for kind, ref in (
                    ("Secret", env.get("valueFrom", {}).get("secretKeyRef")),
                    ("ConfigMap", env.get("valueFrom", {}).get("configMapKeyRef")),
                ):
                    if (
                        ref
                        and not ref.get("optional")
                        and ref["key"] not in data.get((kind, ref["name"]), set())
                    ):
                        missing.append(f"{owner}: {kind} {ref['name']}/{ref['key']}")
        for volume in spec.get("volumes", []):
            if "configMap" in volume and ("ConfigMap", volume["configMap"]["name"]) not in data:
                missing.append(f"{owner}: ConfigMap volume {volume['configMap']['name']}")
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim and claim not in claims:
                missing.append(f"{owner}: PVC {claim}")
    assert missing == []


# --- grant housekeeping and S3 attachments ---------------------------------------------------


def test_grant_housekeeping_runs_hourly_as_a_cronjob(docs: list[dict[str, Any]]) -> None:
    cron = one(docs, "CronJob", f"{RELEASE}-axhub-grants-housekeeping")["spec"]
    minute, *rest = cron["schedule"].split()
    assert 0 <= int(minute) < 60
    assert rest == ["*", "*", "*", "*"]  # every hour
    assert cron["concurrencyPolicy"] == "Forbid"
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["axhub", "grants", "housekeeping"]
    assert pod["restartPolicy"] in {"Never", "OnFailure"}
    assert cron["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
    # the same settings and secrets as hub-api: the same database and SMTP server
    api = one(docs, "Deployment", f"{RELEASE}-axhub-api")["spec"]["template"]["spec"]
    assert container["envFrom"] == api["containers"][0]["envFrom"]
    assert container["env"] == api["containers"][0]["env"]


def test_grant_housekeeping_can_be_turned_off(helm: Helm) -> None:
    docs = helm.template(MINIMAL, sets=("grantsHousekeeping.enabled=false",)).docs
    assert of_kind(docs, "CronJob") == []
    names = {d["metadata"]["name"] for d in docs}
    assert f"{RELEASE}-axhub-grants-housekeeping" not in names


def _hub_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    """hub-api's environment as the kubelet builds it from the ConfigMap and the Secret."""
    config = one(docs, "ConfigMap", f"{RELEASE}-axhub-config")["data"]
    secret = one(docs, "Secret", f"{RELEASE}-axhub-secrets")["stringData"]
    (container,) = one(docs, "Deployment", f"{RELEASE}-axhub-api")["spec"]["template"]["spec"][
        "containers"
    ]
    env = dict(config)
    for item in container["env"]:
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref and ref["key"] in secret:
            env[item["name"]] = secret[ref["key"]]
    return env


def test_local_attachment_storage_is_the_default(helm: Helm) -> None:
    docs = helm.template(MINIMAL).docs
    env = _hub_env(docs)
    assert env["HUB_ATTACHMENT_STORAGE"] == "local"
    assert not [name for name in env if name.startswith("HUB_S3_")]


def test_s3_attachment_settings_reach_hub_api(
    helm: Helm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The rendered env is what the hub's own Settings accept: storage, bucket and secrets."""
    from hub_api.core.config import AttachmentStorageKind, Settings
    from hub_api.storage.s3 import S3Storage

    docs = helm.template(GPU).docs
    env = _hub_env(docs)
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    settings = Settings(data_dir=tmp_path)
    assert settings.attachment_storage == AttachmentStorageKind.s3
    assert (settings.s3_endpoint_url, settings.s3_bucket, settings.s3_key_prefix) == (
        "http://minio.storage.svc:9000",
        "axhub-attachments",
        "prod/attachments",
    )
    assert settings.s3_path_style is True
    assert settings.s3_create_bucket is False
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "test-only-attachments-secret"
    storage = S3Storage.from_settings(settings)  # no network until it is used
    assert storage.object_key("3/" + "a" * 32) == "prod/attachments/3/" + "a" * 32
    # the keys come from the Secret (optional: a web-identity role may stand in for them)
    (container,) = one(docs, "Deployment", f"{RELEASE}-axhub-api")["spec"]["template"]["spec"][
        "containers"
    ]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs["HUB_S3_SECRET_ACCESS_KEY"]["optional"] is True
    assert refs["HUB_S3_ACCESS_KEY_ID"]["key"] == "HUB_S3_ACCESS_KEY_ID"


def test_s3_attachments_may_use_the_pods_own_credentials(helm: Helm) -> None:
    docs = helm.template(
        MINIMAL,
        sets=("config.attachments.storage=s3", "config.attachments.s3.bucket=hub-attachments"),
    ).docs
    secret = one(docs, "Secret", f"{RELEASE}-axhub-secrets")["stringData"]
    assert not {"HUB_S3_ACCESS_KEY_ID", "HUB_S3_SECRET_ACCESS_KEY"} & set(secret)
    assert _hub_env(docs)["HUB_S3_BUCKET"] == "hub-attachments"
