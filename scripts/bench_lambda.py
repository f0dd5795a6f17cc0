"""The receiver's release bootstrap run the way Lambda runs it, and measured.

A Lambda Runtime API emulator starts the bootstrap with Lambda's environment
(optionally inside a cgroup v1 CPU quota equal to a 128 MB or 256 MB
function's share, applied from exec), hands it Function URL events carrying
signed requests of both protocols, and records init time, first-request time,
warm p50/p99, CPU time per request (from /proc/<pid>/task/*/schedstat) and
peak RSS. SQS is a local TLS terminator whose test CA the SDK trusts through
SSL_CERT_FILE, so TLS handshakes are in the figures; behind it, a stand-in
that answers SendMessageBatch (default) or moto (`--sqs moto`). Either way the
harness checks that every event of every 200 reached the queue.

Run it through scripts/bench-lambda (it picks the interpreter that has boto3).
"""

import argparse
import asyncio
import datetime
import hashlib
import hmac
import json
import os
import queue
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Lambda gives a function CPU in proportion to its memory, a full vCPU at
# 1,769 MB; in cgroup v1 terms, this much quota per 20 ms period.
PERIOD_US = 20_000
QUOTAS_US = {"none": None, "256": 2_894, "128": 1_447}

EA_SECRET = "bench-events-api-secret"
EP_SECRET = "bench-event-platform-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, within=30.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


# ---------------------------------------------------------------- TLS in front of moto


def make_certificates(folder):
    """A test CA and a certificate for localhost signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {name: os.path.join(folder, f"{name}.pem") for name in ("ca", "cert", "key")}
    with open(paths["ca"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return paths


class SqsStandIn:
    """Answers SendMessageBatch itself, as SQS's JSON protocol does, and counts
    the messages it was given.

    moto's SendMessageBatch slows down linearly with the messages already in the
    queue (measured: median 134 ms per 10-message batch on an empty queue,
    1,155 ms after 500 batches), so behind moto the receiver's own figures drown
    in moto's latency, and once a call overruns the receiver's deadline the
    retries pile onto moto and it never catches up. The stand-in answers in well
    under a millisecond; moto stays available (`--sqs moto`) to check the
    receiver against a real implementation of the protocol.
    """

    def __init__(self):
        self.messages = 0

    def answer(self, head, body):
        target = b""
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"x-amz-target":
                target = value.strip()
        if target != b"AmazonSQS.SendMessageBatch":
            return 400, {"__type": "com.amazonaws.sqs#InvalidAction", "message": target.decode()}
        request = json.loads(body)
        entries = request.get("Entries") or []
        if not entries:
            return 400, {"__type": "com.amazonaws.sqs#EmptyBatchRequest", "message": "no entries"}
        if len(entries) > 10:
            return 400, {"__type": "com.amazonaws.sqs#TooManyEntriesInBatchRequest", "message": "over 10"}
        self.messages += len(entries)
        return 200, {
            "Successful": [
                {
                    "Id": entry["Id"],
                    "MessageId": str(uuid.uuid4()),
                    "MD5OfMessageBody": hashlib.md5(entry["MessageBody"].encode()).hexdigest(),
                }
                for entry in entries
            ],
            "Failed": [],
        }


def start_tls_terminator(paths, upstream_port, keep_alive=True, stand_in=None):
    """Accepts TLS on a free port and answers each request: with the stand-in
    when there is one, else by forwarding it to moto.

    moto answers every request with `Connection: close`; SQS keeps connections
    open, so a warm Lambda reuses its connection and pays the TLS handshake
    only on a cold start (or after an idle gap). With `keep_alive` the
    terminator plays SQS: it keeps the client connection open (and opens a new
    upstream connection per request). Without it, every request pays a new TCP
    and TLS handshake, which is what a function sees after its connection
    was closed while it was idle.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(paths["cert"], paths["key"])
    port = free_port()

    async def read_message(reader):
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = await reader.readexactly(length) if length else b""
        return head, body

    def framed(status_line, header_lines, payload):
        lines = [status_line] + [
            l for l in header_lines if not l.lower().startswith((b"connection:", b"content-length:"))
        ]
        lines.append(b"Content-Length: " + str(len(payload)).encode())
        lines.append(b"Connection: " + (b"keep-alive" if keep_alive else b"close"))
        return b"\r\n".join(lines) + b"\r\n\r\n" + payload

    async def forward(head, body):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        up_writer.write(head + body)
        await up_writer.drain()
        answer = await up_reader.read()
        up_writer.close()
        head, _, rest = answer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        return framed(lines[0], lines[1:], rest)

    def stand_in_answer(head, body):
        status, document = stand_in.answer(head, body)
        reason = b"OK" if status == 200 else b"Bad Request"
        return framed(
            b"HTTP/1.1 %d %s" % (status, reason),
            [b"Content-Type: application/x-amz-json-1.0", b"x-amzn-RequestId: " + str(uuid.uuid4()).encode()],
            json.dumps(document).encode(),
        )

    async def handle(client_reader, client_writer):
        try:
            while True:
                head, body = await read_message(client_reader)
                # Secrets Manager (--tenants) is moto's to answer, stand-in or not.
                sqs_call = b"x-amz-target: amazonsqs." in head.lower()
                answer = stand_in_answer(head, body) if stand_in and sqs_call else await forward(head, body)
                client_writer.write(answer)
                await client_writer.drain()
                if not keep_alive:
                    break
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, KeyError):
            pass
        finally:
            client_writer.close()

    def run():
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", port, ssl=context))
        loop.run_until_complete(server.serve_forever())

    threading.Thread(target=run, daemon=True).start()
    wait_for_port(port)
    return port


# ---------------------------------------------------------------- Runtime API emulator


class Runtime:
    """The Lambda Runtime API, one function at a time."""

    def __init__(self):
        self.events = queue.Queue()
        self.responses = queue.Queue()
        self.next_calls = queue.Queue()
        self.failures = []
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def read_body(self):
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                runtime.next_calls.put(time.monotonic())
                request_id, payload = runtime.events.get()
                deadline_ms = int((time.time() + 6) * 1000)
                self.reply(
                    200,
                    payload,
                    [
                        ("content-type", "application/json"),
                        ("lambda-runtime-aws-request-id", request_id),
                        ("lambda-runtime-deadline-ms", str(deadline_ms)),
                        (
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:bench-receiver",
                        ),
                        ("lambda-runtime-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"),
                    ],
                )

            def do_POST(self):
                body = self.read_body()
                if self.path.endswith("/response"):
                    runtime.responses.put((time.monotonic(), body))
                elif self.path.endswith("/error"):
                    runtime.failures.append(body)
                    runtime.responses.put((time.monotonic(), None))
                self.reply(202, b'{"status":"OK"}', [("content-type", "application/json")])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


# ---------------------------------------------------------------- the function's process


def cpu_ns(pid):
    """Nanoseconds on CPU of every live thread of the process."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class CpuQuota:
    """A cgroup v1 CPU controller group with Lambda's share for a memory size."""

    def __init__(self, memory):
        self.path = None
        quota = QUOTAS_US[memory]
        if quota is None:
            return
        self.path = f"/sys/fs/cgroup/cpu/relay-bench-{os.getpid()}-{memory}"
        os.makedirs(self.path, exist_ok=True)
        with open(f"{self.path}/cpu.cfs_period_us", "w") as f:
            f.write(str(PERIOD_US))
        with open(f"{self.path}/cpu.cfs_quota_us", "w") as f:
            f.write(str(quota))

    def enter(self):
        """Runs in the child before exec: the quota applies from the first instruction."""
        if self.path:
            with open(f"{self.path}/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))

    def remove(self):
        if self.path:
            try:
                os.rmdir(self.path)
            except OSError:
                pass


def lambda_environment(memory, runtime_port, endpoint, ca_path, queue_url):
    size = "3008" if memory == "none" else memory
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench-receiver",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": size,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench-receiver",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]bench",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "bootstrap",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench/secret/access/key/not/a/real/one/00",
        "AWS_SESSION_TOKEN": "bench-session-token",
        "AWS_ENDPOINT_URL": endpoint,
        "SSL_CERT_FILE": ca_path,
        "QUEUE_URL": queue_url,
        "EVENTS_API_SECRETS": EA_SECRET,
        "EVENT_PLATFORM_SECRETS": EP_SECRET,
        "METRICS_NAMESPACE": "AkeneoEventRelay/bench",
    }


# ---------------------------------------------------------------- requests as Akeneo sends them


def product_event(index, target_bytes):
    values = []
    n = 0
    while sum(len(v) for v in values) + 700 < target_bytes:
        values.append(
            f'"description_{n}":[{{"locale":"en_US","scope":"ecommerce","data":"<p>Sunglasses '
            f"\\u00e9t\\u00e9 model {n}: UV400 lenses, acetate frame, case included. "
            f'https:\\/\\/example.com\\/p\\/{n}</p>"}}],'
        )
        n += 1
    return (
        f'{{"action":"product.updated","event_id":"{uuid.uuid4()}","event_datetime":"2026-11-23T10:00:00+00:00",'
        f'"author":"erp","author_type":"api","pim_source":"https:\\/\\/demo.akeneo.com","data":{{"resource":'
        f'{{"uuid":"{uuid.uuid4()}","identifier":"sku-{index}","family":"accessories","parent":null,"groups":[],'
        f'"categories":["master_accessories_sunglasses"],"enabled":true,"values":{{{"".join(values)}'
        f'"name":[{{"locale":null,"scope":null,"data":"Sunglasses"}}]}},"created":"2020-10-13T10:05:12+00:00",'
        f'"updated":"2026-11-23T10:00:00+00:00","associations":{{}},"quantified_associations":[]}}}}}}'
    )


def cloud_event():
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": "com.akeneo.pim.v1.product.updated",
            "source": "akeneo-event-platform",
            "subject": "019256aa-7f77-7f58-bc8c-770f7e369c5b",
            "time": "2026-11-23T10:00:00Z",
            "datacontenttype": "application/json",
            "data": {
                "product": {"uuid": str(uuid.uuid4())},
                "author": {"identifier": "b238e9f7-fcec-45bd-9431-d43cd624b244", "type": "user"},
            },
        },
        separators=(",", ":"),
    )


SCENARIOS = {
    "ea-1": ("Events API, 1 event 4 KB", "/events-api", 1),
    "ea-10": ("Events API, 10 events 25 KB", "/events-api", 10),
    "ea-200k": ("Events API, 10 events 200 KB", "/events-api", 10),
    "ep-1": ("Event Platform, 1 event", "/event-platform", 1),
}


def request_body(scenario):
    if scenario == "ea-1":
        return '{"events":[' + product_event(0, 4_300) + "]}"
    if scenario == "ea-10":
        return '{"events":[' + ",".join(product_event(i, 2_500) for i in range(10)) + "]}"
    if scenario == "ea-200k":
        return '{"events":[' + ",".join(product_event(i, 20_000) for i in range(10)) + "]}"
    return cloud_event()


def signed_headers(path, body):
    raw = body.encode()
    headers = {"content-type": "application/json", "host": "bench.lambda-url.us-east-1.on.aws"}
    if path == "/events-api":
        timestamp = str(int(time.time()))
        signature = hmac.new(EA_SECRET.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        headers.update(
            {
                "user-agent": "AkeneoPIM/7.0",
                "x-akeneo-request-timestamp": timestamp,
                "x-akeneo-request-signature": signature,
            }
        )
    else:
        headers.update(
            {
                "user-agent": "akeneo/event-platform",
                "x-akeneo-signature-algorithm": "HmacSHA256",
                "x-akeneo-signature-primary": hmac.new(EP_SECRET.encode(), raw, hashlib.sha256).hexdigest(),
            }
        )
    return headers


def function_url_event(scenario):
    path = SCENARIOS[scenario][1]
    body = request_body(scenario)
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": signed_headers(path, body),
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "bench",
            "domainName": "bench.lambda-url.us-east-1.on.aws",
            "domainPrefix": "bench",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "AkeneoPIM/7.0",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }
    return json.dumps(event).encode()


# ---------------------------------------------------------------- one run


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-p / 100 * len(ordered) // 1))))
    return ordered[rank - 1]


def run_function(binary, memory, scenario, warm, env_base, log_path, perf=None, gap_ms=0.0, extra_env=None):
    """One cold start then `warm` warm requests, `gap_ms` apart; answers the measurements."""
    runtime = Runtime()
    quota = CpuQuota(memory)
    env = lambda_environment(memory, runtime.port, *env_base)
    if extra_env:
        # The signing secrets from Secrets Manager instead of the variables.
        env.pop("EVENTS_API_SECRETS", None)
        env.pop("EVENT_PLATFORM_SECRETS", None)
        env.update(extra_env)
    command = [binary]
    if perf:
        # DWARF call graphs: the release build keeps no frame pointers.
        command = ["perf", "record", "--call-graph", "dwarf,32768", "-F", os.environ.get("PERF_FREQUENCY", "999"), "-o", perf, "--"] + command
    started = time.monotonic()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log, preexec_fn=quota.enter)
    pid = process.pid
    try:
        try:
            first_next = runtime.next_calls.get(timeout=30)
        except queue.Empty:
            sys.exit(f"{binary} did not reach the Runtime API within 30 s; see {log_path}")
        init_ms = (first_next - started) * 1000
        init_cpu_ms = cpu_ns(pid) / 1e6 if not perf else float("nan")
        latencies, cpus = [], []
        refused = 0
        for i in range(warm + 1):
            request_id = str(uuid.uuid4())
            payload = function_url_event(scenario)
            if i:
                time.sleep(gap_ms / 1000)
            before = cpu_ns(pid) if not perf else 0
            handed = time.monotonic()
            runtime.events.put((request_id, payload))
            answered, body = runtime.responses.get(timeout=30)
            runtime.next_calls.get(timeout=30)
            after = cpu_ns(pid) if not perf else 0
            if body is None:
                sys.exit(f"the function reported an error: {runtime.failures[-1][:500]!r}")
            if json.loads(body).get("statusCode") != 200:
                refused += 1
            latencies.append((answered - handed) * 1000)
            cpus.append((after - before) / 1000)
        rss = peak_rss_kib(pid) / 1024
    finally:
        process.send_signal(signal.SIGTERM if not perf else signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        runtime.close()
        quota.remove()
    warm_latencies = latencies[1:]
    warm_cpus = cpus[1:]
    return {
        "init_ms": init_ms,
        "init_cpu_ms": init_cpu_ms,
        "first_ms": latencies[0],
        "cold_ms": init_ms + latencies[0],
        "p50_ms": percentile(warm_latencies, 50),
        "p99_ms": percentile(warm_latencies, 99),
        "cpu_us": statistics.median(warm_cpus) if warm_cpus else float("nan"),
        "cpu_mean_us": statistics.mean(warm_cpus) if warm_cpus else float("nan"),
        "rss_mb": rss,
        "refused": refused,
        "accepted": warm + 1 - refused,
        "warm_latencies": warm_latencies,
        "warm_cpus": warm_cpus,
    }


def figures(label, binary, memory, scenario, runs, missing):
    """Cold figures: the median over every start. Warm figures: over every warm
    request of every round together."""
    latencies = [v for r in runs for v in r["warm_latencies"]]
    cpus = [v for r in runs for v in r["warm_cpus"]]
    return {
        "build": label,
        "binary": binary,
        "memory": memory,
        "scenario": scenario,
        "starts": len(runs),
        "warm_requests": len(cpus),
        "init_ms": statistics.median(r["init_ms"] for r in runs),
        "init_cpu_ms": statistics.median(r["init_cpu_ms"] for r in runs),
        "first_ms": statistics.median(r["first_ms"] for r in runs),
        "cold_ms": statistics.median(r["cold_ms"] for r in runs),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "cpu_us": statistics.median(cpus) if cpus else float("nan"),
        "cpu_mean_us": statistics.mean(cpus) if cpus else float("nan"),
        "rss_mb": max(r["rss_mb"] for r in runs),
        "refused": sum(r["refused"] for r in runs),
        "missing": missing,
    }


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default="target/lambda/receiver/bootstrap", help="the receiver bootstrap")
    parser.add_argument("--compare", help="a second bootstrap to measure the same way (e.g. a previous build)")
    parser.add_argument("--memory", default="none,256,128", help="CPU shares to run under: none, 256, 128")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=",".join(SCENARIOS))
    parser.add_argument("--warm", type=int, default=300, help="warm requests per run")
    parser.add_argument("--cold", type=int, default=5, help="cold starts per configuration and round")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per configuration, builds alternating")
    parser.add_argument(
        "--gap",
        type=float,
        default=25.0,
        help="ms between an answer and the next request (default 25: over one 20 ms CFS period, so each "
        "request starts with a full quota, as for a function receiving up to ~40 requests a second; "
        "0 sends back to back and measures throughput under the quota instead)",
    )
    parser.add_argument(
        "--floor",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a reference bootstrap measured beside the build (scripts/bench-lambda --floors passes the "
        "two floor_* in functions/receiver/examples); it queues nothing, so its missing column is '-'",
    )
    parser.add_argument(
        "--alternative",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="another receiver bootstrap measured beside the build, its queue checked like the build's",
    )
    parser.add_argument(
        "--tenants",
        help="comma-separated tenant counts (e.g. 1,100): each a build reading its signing secrets and a tenants "
        "secret of that many tenants' routes from Secrets Manager (moto), as a deployment with Tenants=Enabled does",
    )
    parser.add_argument("--moto-python", default=sys.executable)
    parser.add_argument("--perf", help="record a perf profile of a warm run of the first scenario into this file")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument(
        "--sqs",
        choices=["stand-in", "moto"],
        default="stand-in",
        help="stand-in: the terminator answers SendMessageBatch itself in well under a millisecond; "
        "moto: forwarded to moto, whose latency grows with the queue (see BENCHMARKS.md)",
    )
    parser.add_argument(
        "--sqs-connections",
        choices=["keep-alive", "close"],
        default="keep-alive",
        help="keep-alive: the connection stays open as SQS keeps it under steady traffic; "
        "close: a new TCP and TLS handshake per request, as after an idle gap",
    )
    args = parser.parse_args()

    import boto3

    workdir = tempfile.mkdtemp(prefix="bench-lambda-")
    moto_port = free_port()
    moto_bin = os.path.join(os.path.dirname(args.moto_python), "moto_server")
    moto = subprocess.Popen(
        [moto_bin, "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(moto_port)
        certificates = make_certificates(workdir)
        stand_in = SqsStandIn() if args.sqs == "stand-in" else None
        tls_port = start_tls_terminator(certificates, moto_port, args.sqs_connections == "keep-alive", stand_in)
        sqs = boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{moto_port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        queue_url = sqs.create_queue(QueueName="bench-events")["QueueUrl"]
        env_base = (f"https://localhost:{tls_port}", certificates["ca"], queue_url)
        log_path = os.path.join(workdir, "function.log")

        if args.perf:
            scenario = args.scenarios.split(",")[0]
            run_function(args.binary, "none", scenario, args.warm, env_base, log_path, args.perf, args.gap)
            print(f"perf profile in {args.perf}: perf report -i {args.perf} --no-children")
            return

        # (label, bootstrap, whether what it answers 200 to must reach the queue)
        builds = [("build", args.binary, True)] + ([("compare", args.compare, True)] if args.compare else [])
        builds += [(*alternative.split("=", 1), True) for alternative in args.alternative]
        builds += [(*floor.split("=", 1), False) for floor in args.floor]
        extra_envs = {}
        if args.tenants:
            secrets = boto3.client(
                "secretsmanager",
                endpoint_url=f"http://127.0.0.1:{moto_port}",
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            signing = secrets.create_secret(
                Name="bench-signing",
                SecretString=json.dumps({"events_api_secrets": EA_SECRET, "event_platform_secrets": EP_SECRET}),
            )["ARN"]
            builds = []
            for count in [int(n) for n in args.tenants.split(",")]:
                tenants = {
                    f"tenant-{n:03}": {
                        "events_api_secrets": secrets_text(n, "ea"),
                        "event_platform_secrets": secrets_text(n, "ep"),
                        "notification_secret": secrets_text(n, "n"),
                        "event_platform_subscription_secret": secrets_text(n, "ep"),
                    }
                    for n in range(count)
                }
                document = json.dumps({"tenants": tenants})
                arn = secrets.create_secret(Name=f"bench-tenants-{count}", SecretString=document)["ARN"]
                label = f"{count} tenants ({len(document) // 1024} KiB)"
                builds.append((label, args.binary, True))
                extra_envs[label] = {"SECRETS_ARN": signing, "TENANTS_SECRET_ARN": arn}
        results = []
        for memory in args.memory.split(","):
            for scenario in args.scenarios.split(","):
                # A fresh queue per configuration: moto slows down as a queue
                # fills, which would charge later configurations for earlier ones.
                fresh = sqs.create_queue(QueueName=f"bench-events-{len(results)}")["QueueUrl"]
                env_base = (env_base[0], env_base[1], fresh)
                runs = {label: [] for label, _, _ in builds}
                missing = {label: 0 if checked else None for label, _, checked in builds}
                # Rounds alternate the builds, so a slow minute on a shared
                # machine lands on both rather than on one.
                for round_ in range(args.rounds):
                    for label, binary, checked in builds:
                        print(
                            f"round {round_ + 1}/{args.rounds}: {label} at {memory} MB, {SCENARIOS[scenario][0]}",
                            file=sys.stderr,
                        )
                        queued_before = queued_count(stand_in, sqs, fresh)
                        these = [
                            run_function(
                                binary, memory, scenario, args.warm if i == 0 else 0, env_base, log_path,
                                gap_ms=args.gap, extra_env=extra_envs.get(label),
                            )
                            for i in range(args.cold)
                        ]
                        # Every event of every 200 must have reached the queue: a
                        # faster receiver that drops events is no faster.
                        if checked:
                            expected = sum(r["accepted"] for r in these) * SCENARIOS[scenario][2]
                            queued = queued_count(stand_in, sqs, fresh) - queued_before
                            missing[label] += max(0, expected - queued)
                        runs[label].extend(these)
                for label, binary, _ in builds:
                    results.append(figures(label, binary, memory, scenario, runs[label], missing[label]))
        print_table(results, args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        moto.terminate()


def secrets_text(n, route):
    """A tenant's secret as `tenants add` makes them: 43 characters of base64url."""
    return f"{route}{n:03}" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


def queued_count(stand_in, sqs, queue_url):
    if stand_in:
        return stand_in.messages
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def print_table(results, args):
    print(
        f"\nwarm: {args.warm} requests per round, {args.gap:g} ms apart, after a cold start; cold: median of "
        f"{args.cold} starts per round; {args.rounds} round(s), builds alternating; "
        f"CPU: median per warm request, all threads; SQS: {args.sqs}, connections {args.sqs_connections}; "
        f"missing: events of 200 answers that never reached the queue"
    )
    header = (
        f"{'build':9} {'memory':6} {'scenario':28} {'init ms':>8} {'init CPU':>8} {'first ms':>9} {'cold ms':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>7} {'RSS MB':>7} {'non-200':>7} {'missing':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['build']:9} {r['memory']:6} {SCENARIOS[r['scenario']][0]:28} {r['init_ms']:8.1f} {r['init_cpu_ms']:8.1f} "
            f"{r['first_ms']:9.1f} {r['cold_ms']:8.1f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} "
            f"{r['cpu_us']:7.0f} {r['rss_mb']:7.1f} {r['refused']:7d} {'-' if r['missing'] is None else r['missing']:>7}"
        )


if __name__ == "__main__":
    main()
