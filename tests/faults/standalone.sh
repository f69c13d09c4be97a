#!/bin/sh
# The --standalone responder faces the internet on port 80/443 while an
# issuance runs. One slow client (a slowloris: one byte every 2 s) connected
# to it must not make the CA's validation fail. pebble keeps its random
# validation sleeps here, so the slow client is connected before the CA comes.
set -eu
. "$TESTS_DIR/faults/common.sh"
KEEP_GOING=1
faults_init
need_cli issue
pebble_start --sleep

echo "== http-01 --standalone with a slowloris on the same port"
python3 "$TESTS_DIR/faults/abuse.py" trickle 127.0.0.1 "$PEBBLE_HTTP_PORT" 2 --for 60 \
	>"$WORK/trickle.out" 2>"$WORK/trickle.err" &
FAULTS_PIDS="$FAULTS_PIDS $!"
start=$(date +%s)
issue_via "$PEBBLE_DIR_URL" "$WORK/c1" -D loris.example.test
echo "   exit $RC after $(($(date +%s) - start)) s"
expect_rc 0
no_partial "$WORK/c1"
faults_done
