"""A webhook endpoint for the integration tests: receives the processor's
Standard Webhooks POSTs, verifies each with the official `standardwebhooks`
package (so the relay's signatures are checked by someone else's code, not by
our own), answers with a scripted status, and records what it got.

Run with the moto venv's python (scripts/install-tools installs the package
there):

    .tools/moto/bin/python tests/support/webhook_endpoint.py \
        --port 0 --secret whsec_... [--answers 503,200] [--record FILE]

Once ready it prints `listening on http://127.0.0.1:<port>` on stdout. Any
path is accepted; only POST is.

--answers is a comma list of statuses answered in turn per webhook-id: the
first delivery of an id gets the first status, its second delivery the second,
and the last status repeats for every later one (default: 200).

A request whose signature does not verify (missing headers, wrong key, body
changed, timestamp more than 5 minutes off: the library's fixed tolerance) is
answered 401 and does not use up a scripted answer.

--record FILE appends one JSON line per request:
    {"webhook_id": ..., "status_answered": ..., "verified": true|false,
     "body": <the body parsed as JSON, or null when it is not JSON>}
Each line is written and flushed before the response is sent, so a client
that got its answer can read its line.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Endpoint:
    """The state the handler threads share."""

    def __init__(self, secret: str, answers: list, record: str | None):
        self.webhook = Webhook(secret)
        self.answers = answers
        self.record_path = record
        self.deliveries = {}  # webhook-id -> verified deliveries so far
        self.lock = threading.Lock()

    def answer_for(self, webhook_id: str) -> int:
        with self.lock:
            seen = self.deliveries.get(webhook_id, 0)
            self.deliveries[webhook_id] = seen + 1
        return self.answers[min(seen, len(self.answers) - 1)]

    def record(self, line: dict) -> None:
        if self.record_path is None:
            return
        text = json.dumps(line, separators=(",", ":")) + "\n"
        with self.lock:
            with open(self.record_path, "a", encoding="utf-8") as out:
                out.write(text)
                out.flush()


def parse_json(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def make_handler(endpoint: Endpoint):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint would

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {name: value for name, value in self.headers.items()}
            webhook_id = self.headers.get("webhook-id")
            try:
                endpoint.webhook.verify(raw, headers, json_parse=False)
                verified = True
            except (WebhookVerificationError, ValueError, TypeError):
                verified = False
            status = endpoint.answer_for(webhook_id) if verified else 401
            endpoint.record(
                {
                    "webhook_id": webhook_id,
                    "status_answered": status,
                    "verified": verified,
                    "body": parse_json(raw),
                }
            )
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(405)
            self.send_header("allow", "POST")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format, *args) -> None:  # noqa: A002
            # To stderr, as http.server does, but one short line.
            sys.stderr.write("webhook_endpoint: " + (format % args) + "\n")

    return Handler


def statuses(text: str) -> list:
    answers = [int(part) for part in text.split(",") if part.strip()]
    if not answers or any(not 100 <= status <= 599 for status in answers):
        raise argparse.ArgumentTypeError(f"not a comma list of HTTP statuses: {text!r}")
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret", required=True, help="whsec_<base64 key>")
    parser.add_argument("--answers", type=statuses, default=[200])
    parser.add_argument("--record", help="append one JSON line per request to this file")
    args = parser.parse_args()

    endpoint = Endpoint(args.secret, args.answers, args.record)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(endpoint))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
