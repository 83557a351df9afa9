#!/bin/sh
# register-node.sh: first-boot registration of an on-premises server with AWS Systems Manager through opsauto.
#
# Asks the opsauto API (POST $OPSAUTO_API/activations, Authorization: Bearer <enrollment token>) for a hybrid
# activation for this server's hostname, then registers the SSM Agent with it and restarts the agent. Safe to run at
# every boot: once the agent is registered it exits 0 without calling the API; a rerun before that sends the same
# idempotency key (derived from /etc/machine-id) and so gets the same activation, never a second one.
#
# Settings (environment):
#   OPSAUTO_API                 base URL of the stage's HTTP API, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com (required)
#   OPSAUTO_TOKEN               the enrollment token, or
#   OPSAUTO_TOKEN_FILE          a file holding it (default /etc/opsauto/enrollment-token); removed after a successful
#                               registration unless OPSAUTO_KEEP_TOKEN_FILE=1
#   OPSAUTO_HOSTNAME            default: `hostname -f`
#   OPSAUTO_MACHINE_ID_FILE     default /etc/machine-id (only a hash of it is sent)
#   OPSAUTO_MAX_ATTEMPTS        API attempts on 429, 5xx and network errors (default 8)
#   OPSAUTO_RETRY_BASE_SECONDS  first back-off (default 2), doubled each attempt up to
#   OPSAUTO_RETRY_MAX_SECONDS   (default 60), with random jitter; a numeric Retry-After is honoured up to the maximum
#   OPSAUTO_CA_FILE             CA bundle for the API's certificate (default: the system's)
#   OPSAUTO_SSM_AGENT           the agent binary (default amazon-ssm-agent)
#   OPSAUTO_SSM_REGISTRATION_FILE  the agent's registration (default /var/lib/amazon/ssm/registration)
#   OPSAUTO_AGENT_RESTART       command that restarts the agent (default: systemctl, else service)
#
# Exit status: 0 registered (or already registered); 1 the API could not be reached or failed after every attempt,
# or the agent's registration failed; 2 a setting is missing or wrong; 3 the API refused (invalid, revoked,
# expired, exhausted or out-of-scope token, bad hostname).
#
# Never prints the token or the activation code (do not run it with `sh -x`).
set -u
set +x
umask 077

log() { printf 'opsauto-register: %s\n' "$*" >&2; }
die() { code=$1; shift; log "$*"; exit "$code"; }

registration_file=${OPSAUTO_SSM_REGISTRATION_FILE:-/var/lib/amazon/ssm/registration}
if [ -s "$registration_file" ]; then
  log "the SSM Agent is already registered ($registration_file): nothing to do"
  exit 0
fi

api=${OPSAUTO_API:-}
[ -n "$api" ] || die 2 'OPSAUTO_API is not set (the base URL of the opsauto HTTP API)'
api=${api%/}

token=${OPSAUTO_TOKEN:-}
token_file=''
if [ -z "$token" ]; then
  token_file=${OPSAUTO_TOKEN_FILE:-/etc/opsauto/enrollment-token}
  [ -r "$token_file" ] || die 2 "no enrollment token: set OPSAUTO_TOKEN or OPSAUTO_TOKEN_FILE ($token_file is not readable)"
  token=$(head -n 1 "$token_file" | tr -d ' \t\r\n')
fi
# The token goes into curl's configuration (read from stdin, never a command line): it must be a token, nothing else.
printf '%s' "$token" | grep -Eq '^tok_[a-z2-7]{16}\.[A-Za-z0-9_-]{43}$' || die 2 'the enrollment token is malformed (expected tok_<16 characters>.<43 characters>)'

host=${OPSAUTO_HOSTNAME:-$(hostname -f 2>/dev/null || hostname)}
host=$(printf '%s' "$host" | tr '[:upper:]' '[:lower:]')
printf '%s' "$host" | grep -Eq '^[a-z0-9.-]{1,253}$' || die 2 "the hostname '$host' is not a DNS hostname (set OPSAUTO_HOSTNAME)"

machine_id_file=${OPSAUTO_MACHINE_ID_FILE:-/etc/machine-id}
[ -s "$machine_id_file" ] || die 2 "$machine_id_file is missing or empty: it makes the idempotency key (set OPSAUTO_MACHINE_ID_FILE)"
# machine-id(5): never send it as is; a hash of it, specific to this use, is as stable.
sha256() { if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -c1-64; else openssl dgst -sha256 -r | cut -c1-64; fi; }
key=$(printf 'opsauto-register-node:%s' "$(head -n 1 "$machine_id_file")" | sha256)

number() { case $2 in '' | *[!0-9]*) die 2 "$1 must be a whole number, not '$2'" ;; esac; }
attempts=${OPSAUTO_MAX_ATTEMPTS:-8}; number OPSAUTO_MAX_ATTEMPTS "$attempts"
base=${OPSAUTO_RETRY_BASE_SECONDS:-2}; number OPSAUTO_RETRY_BASE_SECONDS "$base"
cap=${OPSAUTO_RETRY_MAX_SECONDS:-60}; number OPSAUTO_RETRY_MAX_SECONDS "$cap"
[ "$attempts" -ge 1 ] || die 2 'OPSAUTO_MAX_ATTEMPTS must be at least 1'

work=$(mktemp -d) || die 1 'cannot create a temporary directory'
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# A random whole number in [0, $1].
random_upto() {
  [ "$1" -gt 0 ] || { echo 0; return; }
  r=$(od -An -N2 -tu2 /dev/urandom 2>/dev/null | tr -d ' ')
  echo $(( ${r:-0} % ($1 + 1) ))
}

# One request: the answer's body in $work/body, its headers in $work/headers, its status echoed (000: no answer).
request() {
  rm -f "$work/headers" "$work/body"
  {
    printf 'header = "Authorization: Bearer %s"\n' "$token"
    [ -n "${OPSAUTO_CA_FILE:-}" ] && printf 'cacert = "%s"\n' "$OPSAUTO_CA_FILE"
    :
  } | curl --config - --silent --show-error --connect-timeout 10 --max-time 30 \
    --request POST "$api/activations" \
    --header 'content-type: application/json' \
    --user-agent 'opsauto-register-node/1' \
    --data-binary "{\"hostname\":\"$host\",\"idempotencyKey\":\"$key\"}" \
    --dump-header "$work/headers" --output "$work/body" --write-out '%{http_code}' 2>"$work/curl-error" || true
}

# A field of the API's flat JSON answer (no jq on minimal images; values here never hold quotes).
field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$work/body" | head -n 1; }

attempt=1
delay=$base
while :; do
  status=$(request)
  case $status in
    200 | 201) break ;;
    429 | 5?? | 000 | '')
      if [ "$status" = 000 ] || [ -z "$status" ]; then why="no answer ($(head -n 1 "$work/curl-error" 2>/dev/null))"; else why="HTTP $status $(field error)"; fi
      [ "$attempt" -lt "$attempts" ] || die 1 "the opsauto API did not issue an activation after $attempt attempts: $why"
      wait=$(( delay / 2 + $(random_upto $(( delay - delay / 2 ))) ))
      after=$(sed -n 's/^[Rr]etry-[Aa]fter:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$work/headers" 2>/dev/null | head -n 1)
      if [ -n "$after" ] && [ "$after" -gt "$wait" ]; then wait=$after; fi
      [ "$wait" -le "$cap" ] || wait=$cap
      log "attempt $attempt of $attempts: $why; retrying in ${wait}s"
      sleep "$wait"
      attempt=$(( attempt + 1 ))
      delay=$(( delay * 2 ))
      [ "$delay" -le "$cap" ] || delay=$cap
      ;;
    *) die 3 "the opsauto API refused: HTTP $status $(field error): $(field message)" ;;
  esac
done

id=$(field activationId)
code=$(field activationCode)
region=$(field region)
printf '%s' "$id" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' || die 1 'the API answered without a valid activationId'
printf '%s' "$code" | grep -Eq '^[A-Za-z0-9+/=]{20,250}$' || die 1 'the API answered without a valid activationCode'
printf '%s' "$region" | grep -Eq '^[a-z]{2}(-[a-z]+)+-[0-9]+$' || die 1 'the API answered without a valid region'
log "activation $id issued for $host in $region (expires $(field expiresAt)); registering the SSM Agent"

agent=${OPSAUTO_SSM_AGENT:-amazon-ssm-agent}
# The agent's documented registration takes the code as an argument; its output is not shown (it may repeat it).
if ! "$agent" -register -code "$code" -id "$id" -region "$region" >"$work/agent-output" 2>&1; then
  die 1 "the SSM Agent's registration failed (run again: the same activation is returned while it lasts)"
fi

restart=${OPSAUTO_AGENT_RESTART:-}
if [ -z "$restart" ]; then
  if command -v systemctl >/dev/null 2>&1; then restart='systemctl restart amazon-ssm-agent'; else restart='service amazon-ssm-agent restart'; fi
fi
sh -c "$restart" >/dev/null 2>&1 || log "registered, but '$restart' failed: restart the SSM Agent"

if [ -n "$token_file" ] && [ "${OPSAUTO_KEEP_TOKEN_FILE:-0}" != 1 ]; then
  rm -f "$token_file" || log "could not remove $token_file"
fi
log "registered $host with activation $id"
exit 0
