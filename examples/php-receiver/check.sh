#!/usr/bin/env bash
# Self-check of the PHP receiver, for a machine with PHP >= 8, composer and
# access to packagist. It runs outside the project's test command (scripts/test
# and .ci/run do not call it): the project's own machines do not reach
# packagist, so the library cannot be installed there.
#
# Installs the library, starts index.php under `php -S`, then posts one body
# signed as the relay signs it (HMAC-SHA256 computed here with PHP's
# hash_hmac, per the Standard Webhooks spec, not with the library), one signed
# with another key and one without signature headers, and expects 204, 401, 401.
set -euo pipefail
cd "$(dirname "$0")"

composer install --no-interaction --no-progress --quiet

port=${PORT:-8181}
key=$(php -r 'echo base64_encode(random_bytes(32));')
other_key=$(php -r 'echo base64_encode(random_bytes(32));')
WEBHOOK_SECRET="whsec_$key" php -S "127.0.0.1:$port" index.php >server.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done

body='{"version":1,"type":"product.updated","protocol":"event-platform","event_id":"0b6d1d4e-6a39-4b8e-9a35-3f1c2a7e9d10","event_type":"com.akeneo.pim.v1.product.updated","occurred_at":"2025-01-01T00:00:00Z","pim":"https://pim.example.com","subscription":"sub-1","author":{"identifier":"julia","type":"ui"},"keys":{"uuid":"5e1c0b2a-1f7c-4bde-9a0e-0d6f3a1e2b3c","identifier":"chaussette-é","code":null},"stale":false,"event":{"note":"déjà vu"},"current":null,"current_state":"not_read"}'

sign() { # base64 key, id, timestamp
  php -r 'echo "v1,", base64_encode(hash_hmac("sha256", $argv[2] . "." . $argv[3] . "." . $argv[4], base64_decode($argv[1]), true));' \
    "$1" "$2" "$3" "$body"
}

post() { # id, signature header or empty for none
  local id=$1 ts headers=()
  ts=$(date +%s)
  [ -n "$2" ] && headers=(-H "webhook-id: $id" -H "webhook-timestamp: $ts" -H "webhook-signature: $($2 "$id" "$ts")")
  curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/akeneo" \
    -H 'content-type: application/json' ${headers[@]+"${headers[@]}"} --data-binary "$body"
}
good() { sign "$key" "$@"; }
bad() { sign "$other_key" "$@"; }

passed=0 failed=0
expect() { # name, expected, got
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: expected $2, got $3" >&2; fi
}
expect "correctly signed" 204 "$(post msg_good good)"
expect "signed with another key" 401 "$(post msg_bad bad)"
expect "no signature headers" 401 "$(post msg_none '')"
grep -q 'product.updated event_id=0b6d1d4e-6a39-4b8e-9a35-3f1c2a7e9d10' server.log ||
  { failed=$((failed + 1)); echo "FAIL the server did not log the event" >&2; }

cat server.log
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
