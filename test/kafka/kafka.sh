#!/usr/bin/env bash
# kafka.sh: a real Apache Kafka (KRaft) cluster on loopback for tests.
#
#   kafka.sh fetch                       download Kafka + dependencies into the cache
#   kafka.sh up --brokers N --base-port P [--sasl] [--tls]
#   kafka.sh status --base-port P
#   kafka.sh kill --base-port P --node I [--signal KILL|TERM]
#   kafka.sh down --base-port P [--keep]
#
# Node i (0-based) is a combined controller+broker: clients on 127.0.0.1:P+i,
# controller quorum on 127.0.0.1:P+100+i. Its files are in $RUN_DIR/node-<i>/
# (pid, server.log, server.properties, data/). `up` is idempotent: it formats
# storage once and starts only the nodes that are not running, then waits
# (bounded) until the cluster answers metadata with all N brokers. `down`
# stops every node and removes $RUN_DIR unless --keep.
#
# --sasl: SASL_PLAINTEXT (SASL_SSL with --tls) with PLAIN, SCRAM-SHA-256 and
# SCRAM-SHA-512; users `admin` (superuser) and `gateway` (may write topics
# prefixed hl7., fhir., _gateway.; may only describe forbidden.topic), random
# passwords; StandardAuthorizer. --tls: a self-signed CA generated here.
# Credentials, CA and bootstrap: $RUN_DIR/cluster.env (KEY=VALUE) and
# $RUN_DIR/admin.properties (Java client config for the superuser).
#
# Environment: KAFKA_VERSION (default 4.1.2), KAFKA_CACHE (default
# ~/.cache/hl7gw-kafka), KAFKA_RUN_DIR (default ${TMPDIR:-/tmp}/hl7gw-kafka-P),
# KAFKA_HEAP (default -Xmx384m -Xms96m), KAFKA_JVM_OPTS (default serial GC,
# C1 only: fast start on small machines), KAFKA_READY_TIMEOUT (seconds, 120),
# MAVEN (default mvn).
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.1.2}
LOG4J_VERSION=${LOG4J_VERSION:-2.24.3}
SLF4J_VERSION=${SLF4J_VERSION:-2.0.17}
KAFKA_CACHE=${KAFKA_CACHE:-$HOME/.cache/hl7gw-kafka}
KAFKA_HEAP=${KAFKA_HEAP:--Xmx384m -Xms96m}
KAFKA_JVM_OPTS=${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k}
KAFKA_READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-120}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIBS="$KAFKA_CACHE/kafka-$KAFKA_VERSION/libs"
PROBE_DIR="$KAFKA_CACHE/kafka-$KAFKA_VERSION/probe"

die() { echo "kafka.sh: $*" >&2; exit 1; }
log() { echo "kafka.sh: $*" >&2; }

usage() {
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

# fetch downloads kafka_2.13 and its runtime dependencies with Maven into the
# cache (scripts/maven-fetch.sh); a second run finds the marker file and
# downloads nothing.
fetch() {
	local dest="$KAFKA_CACHE/kafka-$KAFKA_VERSION"
	command -v java >/dev/null || die "java not found: Kafka $KAFKA_VERSION needs Java 17+"
	if ! [[ -f "$dest/.complete" ]]; then
		log "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $dest"
	fi
	runtime_pom | bash "$HERE/../../scripts/maven-fetch.sh" "$dest" "$KAFKA_CACHE/m2"
	compile_probe
}

# runtime_pom prints the pom whose runtime dependencies are the broker's class
# path: kafka_2.13 plus log4j2 behind slf4j 2 (the broker pom names no binding).
runtime_pom() {
	cat <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>hl7gw.test</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

# compile_probe compiles Probe.java once per source change.
compile_probe() {
	bash "$HERE/../../scripts/javac-once.sh" compile "$HERE/Probe.java" "$PROBE_DIR" "$LIBS/*"
}

parse_args() {
	BROKERS=""
	BASE_PORT=""
	SASL=0
	TLS=0
	KEEP=0
	NODE=""
	SIGNAL=KILL
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--brokers) BROKERS=${2:?--brokers needs a value}; shift 2 ;;
		--base-port) BASE_PORT=${2:?--base-port needs a value}; shift 2 ;;
		--node) NODE=${2:?--node needs a value}; shift 2 ;;
		--signal) SIGNAL=${2:?--signal needs a value}; shift 2 ;;
		--sasl) SASL=1; shift ;;
		--tls) TLS=1; shift ;;
		--keep) KEEP=1; shift ;;
		-h | --help) usage ;;
		*) die "unknown argument: $1" ;;
		esac
	done
	BASE_PORT=${BASE_PORT:-19092}
	[[ "$BASE_PORT" =~ ^[0-9]+$ ]] || die "--base-port must be a number"
	RUN_DIR=${KAFKA_RUN_DIR:-${TMPDIR:-/tmp}/hl7gw-kafka-$BASE_PORT}
}

# random_secret prints 20 random alphanumeric characters.
random_secret() {
	local s=""
	while [[ ${#s} -lt 20 ]]; do
		s+=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	done
	echo "${s:0:20}"
}

# gen_tls writes a self-signed CA, a broker certificate for 127.0.0.1 and
# localhost, and a client certificate, all PEM, into $RUN_DIR/tls.
gen_tls() {
	local d="$RUN_DIR/tls"
	mkdir -p "$d"
	(
		cd "$d"
		openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=hl7gw test CA" \
			-keyout ca-key.pem -out ca.pem 2>/dev/null
		for who in broker client; do
			openssl req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout "$who-key.pem" \
				-out "$who.csr" 2>/dev/null
			printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$who.ext"
			openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
				-days 825 -extfile "$who.ext" -out "$who.pem" 2>/dev/null
			# PEM keystore for Kafka: PKCS#8 key followed by the certificate chain.
			openssl pkcs8 -topk8 -nocrypt -in "$who-key.pem" -out "$who-key.p8"
			cat "$who-key.p8" "$who.pem" ca.pem >"$who-keystore.pem"
			rm -f "$who.csr" "$who.ext"
		done
	) || die "openssl failed generating the test CA"
}

# write_node_props writes node i's server.properties.
write_node_props() {
	local i=$1 dir="$RUN_DIR/node-$1" voters="" j proto
	for ((j = 0; j < BROKERS; j++)); do
		voters+="${voters:+,}$j@127.0.0.1:$((BASE_PORT + 100 + j))"
	done
	proto=PLAINTEXT
	if ((SASL && TLS)); then proto=SASL_SSL; elif ((SASL)); then proto=SASL_PLAINTEXT; elif ((TLS)); then proto=SSL; fi
	local rf=$((BROKERS < 3 ? BROKERS : 3))
	local isr=$((rf < 2 ? 1 : 2))
	mkdir -p "$dir/data"
	cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=CLIENT://127.0.0.1:$((BASE_PORT + i)),CONTROLLER://127.0.0.1:$((BASE_PORT + 100 + i))
advertised.listeners=CLIENT://127.0.0.1:$((BASE_PORT + i))
listener.security.protocol.map=CLIENT:$proto,CONTROLLER:PLAINTEXT
inter.broker.listener.name=CLIENT
controller.listener.names=CONTROLLER
log.dirs=$dir/data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$rf
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
num.replica.fetchers=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
log.segment.bytes=67108864
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000
controlled.shutdown.enable=true
EOF
	if ((SASL)); then
		cat >>"$dir/server.properties" <<EOF
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.client.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$ADMIN_PASSWORD" user_admin="$ADMIN_PASSWORD" user_gateway="$GATEWAY_PASSWORD";
listener.name.client.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
EOF
	fi
	if ((TLS)); then
		cat >>"$dir/server.properties" <<EOF
ssl.keystore.type=PEM
ssl.keystore.location=$RUN_DIR/tls/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$RUN_DIR/tls/ca.pem
ssl.client.auth=requested
ssl.endpoint.identification.algorithm=https
EOF
	fi
}

# write_client_files writes cluster.env (for Go tests and people) and
# admin.properties (Java client config for the superuser).
write_client_files() {
	local bootstrap="" i proto=PLAINTEXT
	for ((i = 0; i < BROKERS; i++)); do bootstrap+="${bootstrap:+,}127.0.0.1:$((BASE_PORT + i))"; done
	if ((SASL && TLS)); then proto=SASL_SSL; elif ((SASL)); then proto=SASL_PLAINTEXT; elif ((TLS)); then proto=SSL; fi
	{
		echo "KAFKA_BROKERS=$BROKERS"
		echo "KAFKA_BASE_PORT=$BASE_PORT"
		echo "KAFKA_BOOTSTRAP=$bootstrap"
		echo "KAFKA_SECURITY_PROTOCOL=$proto"
		echo "KAFKA_SASL=$SASL"
		echo "KAFKA_TLS=$TLS"
		echo "KAFKA_VERSION=$KAFKA_VERSION"
		if ((SASL)); then
			echo "KAFKA_ADMIN_USER=admin"
			echo "KAFKA_ADMIN_PASSWORD=$ADMIN_PASSWORD"
			echo "KAFKA_GATEWAY_USER=gateway"
			echo "KAFKA_GATEWAY_PASSWORD=$GATEWAY_PASSWORD"
			echo "KAFKA_FORBIDDEN_TOPIC=forbidden.topic"
		fi
		if ((TLS)); then
			echo "KAFKA_CA_FILE=$RUN_DIR/tls/ca.pem"
			echo "KAFKA_CLIENT_CERT_FILE=$RUN_DIR/tls/client.pem"
			echo "KAFKA_CLIENT_KEY_FILE=$RUN_DIR/tls/client-key.pem"
		fi
	} >"$RUN_DIR/cluster.env"
	{
		echo "bootstrap.servers=$bootstrap"
		echo "security.protocol=$proto"
		if ((SASL)); then
			echo "sasl.mechanism=PLAIN"
			echo "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$ADMIN_PASSWORD\";"
		fi
		if ((TLS)); then
			echo "ssl.truststore.type=PEM"
			echo "ssl.truststore.location=$RUN_DIR/tls/ca.pem"
		fi
	} >"$RUN_DIR/admin.properties"
	chmod 600 "$RUN_DIR/cluster.env" "$RUN_DIR/admin.properties"
}

# create_cluster writes configuration and formats every node's storage once.
create_cluster() {
	log "creating a $BROKERS-node cluster in $RUN_DIR (ports $BASE_PORT.., controllers $((BASE_PORT + 100)).., sasl=$SASL tls=$TLS)"
	mkdir -p "$RUN_DIR"
	ADMIN_PASSWORD=$(random_secret)
	GATEWAY_PASSWORD=$(random_secret)
	((TLS)) && gen_tls
	local cluster_id i pids=() scram=()
	# A base64url UUID; one starting with '-' would read as an option.
	cluster_id=-
	while [[ "$cluster_id" == -* ]]; do
		cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	done
	if ((SASL)); then
		for m in SCRAM-SHA-256 SCRAM-SHA-512; do
			scram+=(--add-scram "$m=[name=admin,password=$ADMIN_PASSWORD]")
			scram+=(--add-scram "$m=[name=gateway,password=$GATEWAY_PASSWORD]")
		done
	fi
	for ((i = 0; i < BROKERS; i++)); do
		write_node_props "$i"
		java -Xmx256m -XX:TieredStopAtLevel=1 -cp "$LIBS/*" -Dlog4j2.configurationFile="$RUN_DIR/log4j2-tool.properties" \
			kafka.tools.StorageTool format -t "$cluster_id" -c "$RUN_DIR/node-$i/server.properties" \
			"${scram[@]}" >"$RUN_DIR/node-$i/format.log" 2>&1 &
		pids+=($!)
	done
	for ((i = 0; i < BROKERS; i++)); do
		wait "${pids[$i]}" || { tail -n 20 "$RUN_DIR/node-$i/format.log" >&2; die "formatting node $i failed"; }
	done
	write_client_files
	echo "$BROKERS $SASL $TLS" >"$RUN_DIR/.formatted"
}

write_log4j() {
	mkdir -p "$RUN_DIR"
	cat >"$RUN_DIR/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.ak.name = org.apache.kafka
logger.ak.level = INFO
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = INFO
EOF
	cat >"$RUN_DIR/log4j2-tool.properties" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = ERROR
rootLogger.appenderRef.err.ref = err
EOF
}

# node_running reports whether node i's recorded PID is a live Kafka process.
node_running() {
	local pidf="$RUN_DIR/node-$1/pid" pid
	[[ -f "$pidf" ]] || return 1
	pid=$(<"$pidf")
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null
}

# node_alive reports whether node i's recorded PID is alive, whatever it runs.
node_alive() {
	local pidf="$RUN_DIR/node-$1/pid" pid
	[[ -f "$pidf" ]] || return 1
	pid=$(<"$pidf")
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

start_node() {
	local i=$1 dir="$RUN_DIR/node-$1"
	# A restarted node appends to its log; mark where this run begins.
	echo "=== kafka.sh start $(date -u +%FT%TZ) ===" >>"$dir/server.log"
	# shellcheck disable=SC2086
	nohup java $KAFKA_HEAP $KAFKA_JVM_OPTS \
		-Djava.awt.headless=true -Dlog4j2.configurationFile="$RUN_DIR/log4j2.properties" \
		-cp "$LIBS/*" kafka.Kafka "$dir/server.properties" >>"$dir/server.log" 2>&1 </dev/null &
	echo $! >"$dir/pid"
	log "node $i started (pid $!, 127.0.0.1:$((BASE_PORT + i)))"
}

# wait_started waits until each node just started logs that its server
# started (KRaft brokers log it once unfenced), failing fast if one exits.
wait_started() {
	local deadline=$((SECONDS + KAFKA_READY_TIMEOUT)) i pending
	while :; do
		pending=0
		for i in "$@"; do
			# Only the PID: right after the fork, /proc/PID/cmdline may still
			# show the shell until nohup has exec'd java (seen under load).
			if ! node_alive "$i"; then
				echo "--- node $i exited: tail of $RUN_DIR/node-$i/server.log" >&2
				tail -n 25 "$RUN_DIR/node-$i/server.log" >&2 || true
				die "node $i exited during start-up"
			fi
			awk '/^=== kafka.sh start/ { ok = 0 } /Kafka Server started/ { ok = 1 } END { exit !ok }' \
				"$RUN_DIR/node-$i/server.log" || pending=1
		done
		((pending)) || return 0
		if ((SECONDS > deadline)); then
			for i in "$@"; do
				echo "--- node $i: tail of $RUN_DIR/node-$i/server.log" >&2
				tail -n 15 "$RUN_DIR/node-$i/server.log" >&2 || true
			done
			die "nodes $* did not start within ${KAFKA_READY_TIMEOUT}s"
		fi
		sleep 0.2
	done
}

# wait_ready waits until every node's process is alive and the cluster
# answers metadata with all brokers; on failure prints the log tails.
wait_ready() {
	local acl=""
	[[ "$SASL" == 1 && ! -f "$RUN_DIR/.acls" ]] && acl=acls
	if ! java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$LIBS/*:$PROBE_DIR" \
		-Dlog4j2.configurationFile="$RUN_DIR/log4j2-tool.properties" \
		Probe "$RUN_DIR/admin.properties" "$BROKERS" "$KAFKA_READY_TIMEOUT" $acl; then
		local i
		for ((i = 0; i < BROKERS; i++)); do
			node_running "$i" && state=running || state=DEAD
			echo "--- node $i ($state): tail of $RUN_DIR/node-$i/server.log" >&2
			tail -n 15 "$RUN_DIR/node-$i/server.log" >&2 || true
		done
		die "cluster did not answer metadata with $BROKERS brokers within ${KAFKA_READY_TIMEOUT}s"
	fi
	[[ -n "$acl" ]] && touch "$RUN_DIR/.acls"
	return 0
}

cmd_up() {
	[[ -n "$BROKERS" ]] || die "up needs --brokers N"
	[[ "$BROKERS" =~ ^[1-9][0-9]?$ ]] || die "--brokers must be 1..99"
	fetch
	write_log4j
	if [[ -f "$RUN_DIR/.formatted" ]]; then
		local want="$BROKERS $SASL $TLS"
		[[ "$(<"$RUN_DIR/.formatted")" == "$want" ]] ||
			die "$RUN_DIR holds a cluster made with other options (brokers sasl tls: $(<"$RUN_DIR/.formatted")); run: kafka.sh down --base-port $BASE_PORT"
		# shellcheck disable=SC1091
		ADMIN_PASSWORD=$(sed -n 's/^KAFKA_ADMIN_PASSWORD=//p' "$RUN_DIR/cluster.env")
		GATEWAY_PASSWORD=$(sed -n 's/^KAFKA_GATEWAY_PASSWORD=//p' "$RUN_DIR/cluster.env")
	else
		rm -rf "$RUN_DIR"
		write_log4j
		create_cluster
	fi
	local i started=()
	for ((i = 0; i < BROKERS; i++)); do
		if ! node_running "$i"; then
			start_node "$i"
			started+=("$i")
		fi
	done
	if ((${#started[@]} == 0)); then
		log "all $BROKERS nodes already running"
	else
		wait_started "${started[@]}"
	fi
	wait_ready
	echo "bootstrap: $(sed -n 's/^KAFKA_BOOTSTRAP=//p' "$RUN_DIR/cluster.env")"
	echo "credentials: $RUN_DIR/cluster.env"
	echo "admin client config: $RUN_DIR/admin.properties"
}

cmd_status() {
	[[ -f "$RUN_DIR/.formatted" ]] || { echo "no cluster in $RUN_DIR"; exit 3; }
	local n i down=0
	read -r n _ <"$RUN_DIR/.formatted"
	for ((i = 0; i < n; i++)); do
		if node_running "$i"; then
			echo "node $i running pid $(<"$RUN_DIR/node-$i/pid") 127.0.0.1:$((BASE_PORT + i))"
		else
			echo "node $i stopped 127.0.0.1:$((BASE_PORT + i))"
			down=$((down + 1))
		fi
	done
	echo "credentials: $RUN_DIR/cluster.env"
	((down == 0)) || exit 3
}

cmd_kill() {
	[[ "$NODE" =~ ^[0-9]+$ ]] || die "kill needs --node I"
	node_running "$NODE" || die "node $NODE is not running"
	kill -s "$SIGNAL" "$(<"$RUN_DIR/node-$NODE/pid")"
	log "sent SIG$SIGNAL to node $NODE"
}

cmd_down() {
	local d pid waited=0 any=0
	for d in "$RUN_DIR"/node-*; do
		[[ -d "$d" ]] || continue
		local i=${d##*-}
		if node_running "$i"; then
			kill -TERM "$(<"$d/pid")" 2>/dev/null || true
			any=1
		fi
	done
	while ((any)) && ((waited < 200)); do
		any=0
		for d in "$RUN_DIR"/node-*; do
			[[ -d "$d" ]] || continue
			node_running "${d##*-}" && any=1
		done
		((any)) && { sleep 0.1; waited=$((waited + 1)); }
	done
	for d in "$RUN_DIR"/node-*; do
		[[ -d "$d" ]] || continue
		if node_running "${d##*-}"; then
			pid=$(<"$d/pid")
			log "node ${d##*-} did not stop in 20s; SIGKILL $pid"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	if ((KEEP)); then
		log "stopped; files kept in $RUN_DIR"
	else
		rm -rf "$RUN_DIR"
		log "stopped and removed $RUN_DIR"
	fi
}

main() {
	[[ $# -ge 1 ]] || usage
	local cmd=$1
	shift
	parse_args "$@"
	case "$cmd" in
	fetch) fetch ;;
	up) cmd_up ;;
	status) cmd_status ;;
	kill) cmd_kill ;;
	down) cmd_down ;;
	*) usage ;;
	esac
}

main "$@"
