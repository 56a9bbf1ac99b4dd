#!/usr/bin/env bash
# Start the daemons the tests need: dockerd, a local registry, sshd (by the
# tests themselves) and a moto server. Daemon output goes to log files under
# $CI_LOG_DIR, never to our stdout/stderr, so nothing holds CI's output open.
# Source this file; call start_services, and stop_services on exit (trap).
set -Eeuo pipefail

readonly CI_LOG_DIR="${CI_LOG_DIR:-/tmp/whatsapp-miner-ci}"
readonly REGISTRY_PORT="${REGISTRY_PORT:-5000}"
readonly MOTO_PORT="${MOTO_PORT:-5001}"
# moto enforcing IAM (tests/support/moto_iam.py): a server of its own, since
# moto counts the requests it lets through unchecked process-wide.
readonly MOTO_IAM_PORT="${MOTO_IAM_PORT:-5002}"
readonly MOTO_IAM_KEYS="$CI_LOG_DIR/moto-iam-admin.json"
# A registry answering under an ECR hostname (port 80, plain HTTP: dockerd
# treats names that resolve to loopback as insecure), so that host-deploy's
# ECR login path runs for real against moto's token.
readonly ECR_STANDIN_HOST="${ECR_STANDIN_HOST:-123456789012.dkr.ecr.us-east-1.amazonaws.com}"
# moto over TLS under ECR's API hostname for that region, for the ECR
# credential helper: Debian's docker-credential-ecr-login (0.6.0) reads no
# endpoint override, only a CA bundle (AWS_CA_BUNDLE). It listens on another
# loopback address: dockerd tries HTTPS on 443 before plain HTTP for the
# stand-in registry, so 127.0.0.1:443 must stay closed.
readonly ECR_API_HOST="${ECR_API_HOST:-api.ecr.us-east-1.amazonaws.com}"
readonly ECR_API_ADDRESS=127.0.0.2
readonly ECR_API_DIR="$CI_LOG_DIR/ecr-api"
# The stand-in registry demands what ECR demands: the user AWS and the
# password in the token ECR's GetAuthorizationToken gives for the registry's
# account (moto's models.py: "<registry id>-auth-token").
readonly ECR_STANDIN_PASSWORD="${ECR_STANDIN_HOST%%.*}-auth-token"
# The test host's own Docker engine (own data root and socket): it holds no
# image the tests build, so every deploy there pulls what it runs, as an EC2
# host does. No iptables rules of its own (the build engine owns those).
readonly HOST_DOCKER_HOST="unix://$CI_LOG_DIR/host-docker/docker.sock"
STARTED_PIDS=()

wait_for() {
  local what="$1" tries=60
  shift
  until "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    if ((tries == 0)); then
      echo "services: $what did not come up; see $CI_LOG_DIR" >&2
      return 1
    fi
    sleep 1
  done
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  mkdir -p "$CI_LOG_DIR"
  dockerd >"$CI_LOG_DIR/dockerd.log" 2>&1 </dev/null &
  STARTED_PIDS+=("$!")
  wait_for dockerd docker info
}

# start_host_engine NAME BRIDGE ADDRESS: a dockerd of its own under
# $CI_LOG_DIR/NAME (socket NAME/docker.sock), on its own default bridge
# BRIDGE with ADDRESS. Both ways of keeping it off docker0 that dockerd
# offers delete docker0, the build engine's bridge, when it starts:
# `--bridge none`, and `--default-address-pool` (daemon_unix.go, "Clear stale
# bridge network", calls removeDefaultBridgeInterface). So: a default bridge
# of its own, and the default pools, from which libnetwork takes only subnets
# no route uses. The test of an engine restart mid-deploy runs one too.
start_host_engine() {
  local name="$1" bridge="$2" address="$3" dir="$CI_LOG_DIR/$1"
  if DOCKER_HOST="unix://$dir/docker.sock" docker info >/dev/null 2>&1; then return 0; fi
  mkdir -p "$dir"
  echo '{}' >"$dir/daemon.json"
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$address" dev "$bridge"
    ip link set "$bridge" up
  fi
  dockerd --host "unix://$dir/docker.sock" --config-file "$dir/daemon.json" \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    --bridge "$bridge" --iptables=false --ip-masq=false \
    >>"$dir.log" 2>&1 </dev/null &
  STARTED_PIDS+=("$!")
  wait_for "the dockerd $name" env DOCKER_HOST="unix://$dir/docker.sock" docker info
}

# stop_host_engine NAME: stop that dockerd (it stops its containers first)
# and wait until it has gone.
stop_host_engine() {
  local pid
  pid="$(cat "$CI_LOG_DIR/$1/docker.pid" 2>/dev/null)" || return 0
  kill "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
}

# start_registry NAME ADDRESS [HTPASSWD]: a docker-registry serving on
# ADDRESS; with HTPASSWD, only to the users in that file.
start_registry() {
  local name="$1" address="$2" htpasswd="${3:-}" auth=""
  if curl -sS -o /dev/null "http://$address/v2/" 2>/dev/null; then return 0; fi
  mkdir -p "$CI_LOG_DIR/$name"
  [[ -z $htpasswd ]] || printf -v auth 'auth:\n  htpasswd:\n    realm: %s\n    path: %s' "$name" "$htpasswd"
  cat >"$CI_LOG_DIR/$name.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $CI_LOG_DIR/$name
  delete:
    enabled: true
http:
  addr: $address
$auth
YAML
  docker-registry serve "$CI_LOG_DIR/$name.yml" >"$CI_LOG_DIR/$name.log" 2>&1 </dev/null &
  STARTED_PIDS+=("$!")
  wait_for "$name" curl -sS -o /dev/null "http://$address/v2/"
}

start_ecr_standin() {
  grep -q " $ECR_STANDIN_HOST\$" /etc/hosts || echo "127.0.0.1 $ECR_STANDIN_HOST" >>/etc/hosts
  # bcrypt, the only hash the registry's htpasswd accepts; the password on stdin.
  printf '%s\n' "$ECR_STANDIN_PASSWORD" | htpasswd -iBc "$CI_LOG_DIR/ecr-standin.htpasswd" AWS 2>/dev/null
  start_registry ecr-standin 127.0.0.1:80 "$CI_LOG_DIR/ecr-standin.htpasswd"
}

start_ecr_api_standin() {
  if ! grep -q "^$ECR_API_ADDRESS $ECR_API_HOST\$" /etc/hosts; then
    # Drop an entry with another address; rewrite in place, because in a
    # container /etc/hosts is a bind mount that `sed -i` cannot rename over.
    local others
    others="$(grep -v " $ECR_API_HOST\$" /etc/hosts || true)"
    printf '%s\n%s\n' "$others" "$ECR_API_ADDRESS $ECR_API_HOST" >/etc/hosts
  fi
  if [[ ! -f $ECR_API_DIR/cert.pem ]]; then
    mkdir -p "$ECR_API_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=$ECR_API_HOST" -addext "subjectAltName=DNS:$ECR_API_HOST" \
      -keyout "$ECR_API_DIR/key.pem" -out "$ECR_API_DIR/cert.pem" 2>/dev/null
  fi
  local probe=(curl -fsS --cacert "$ECR_API_DIR/cert.pem" "https://$ECR_API_HOST/moto-api/")
  if "${probe[@]}" >/dev/null 2>&1; then return 0; fi
  moto_server -H "$ECR_API_ADDRESS" -p 443 -c "$ECR_API_DIR/cert.pem" -k "$ECR_API_DIR/key.pem" \
    >"$CI_LOG_DIR/ecr-api.log" 2>&1 </dev/null &
  STARTED_PIDS+=("$!")
  wait_for "ECR API stand-in" "${probe[@]}"
}

start_moto() {
  if curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1; then return 0; fi
  moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$CI_LOG_DIR/moto.log" 2>&1 </dev/null &
  STARTED_PIDS+=("$!")
  wait_for moto curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/"
}

# start_moto_iam: moto checking every request against IAM once the bootstrap's
# requests (an admin user, its keys in $MOTO_IAM_KEYS) have gone through.
start_moto_iam() {
  local probe=(curl -fsS "http://127.0.0.1:$MOTO_IAM_PORT/moto-api/")
  if "${probe[@]}" >/dev/null 2>&1; then
    [[ -f $MOTO_IAM_KEYS ]] && return 0
    echo "services: moto on port $MOTO_IAM_PORT runs without $MOTO_IAM_KEYS; stop it and start again" >&2
    return 1
  fi
  INITIAL_NO_AUTH_ACTION_COUNT="$(python -m tests.support.moto_iam count)" \
    moto_server -H 127.0.0.1 -p "$MOTO_IAM_PORT" >"$CI_LOG_DIR/moto-iam.log" 2>&1 </dev/null &
  STARTED_PIDS+=("$!")
  wait_for "moto enforcing IAM" "${probe[@]}"
  python -m tests.support.moto_iam bootstrap "http://127.0.0.1:$MOTO_IAM_PORT" "$MOTO_IAM_KEYS"
}

start_services() {
  mkdir -p "$CI_LOG_DIR"
  start_dockerd
  start_host_engine host-docker wm-host0 10.213.255.1/24
  start_registry registry "127.0.0.1:$REGISTRY_PORT"
  start_ecr_standin
  start_moto
  start_moto_iam
  start_ecr_api_standin
  export TEST_REGISTRY="127.0.0.1:$REGISTRY_PORT"
  export TEST_AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
  export TEST_AWS_IAM_ENDPOINT_URL="http://127.0.0.1:$MOTO_IAM_PORT"
  export TEST_AWS_IAM_ADMIN_KEYS="$MOTO_IAM_KEYS"
  export TEST_ECR_REGISTRY="$ECR_STANDIN_HOST"
  export TEST_ECR_API_CA="$ECR_API_DIR/cert.pem"
  export TEST_HOST_DOCKER_HOST="$HOST_DOCKER_HOST"
}

stop_services() {
  local pid name
  # Engines a test started (or restarted) are not this shell's children.
  for name in "$CI_LOG_DIR"/*/docker.pid; do
    [[ -f $name ]] || continue
    name="${name%/docker.pid}"
    [[ $name == */host-docker ]] || stop_host_engine "${name##*/}"
  done
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
