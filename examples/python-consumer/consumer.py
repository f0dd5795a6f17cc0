"""Reads the Akeneo events that an EventBridge rule sends to an SQS queue.

Each SQS message is one EventBridge event: an envelope whose `detail-type` is
the relay's normalised type (`product.updated`, `product-model.deleted`, ...)
and whose `detail` is the relay's version 1 document. This prints one line
per event, fetches the event from S3 when the relay left a pointer instead
(an event too large for EventBridge), and deletes the message once handled.

usage: consumer.py --queue-url URL [--max-messages N] [--idle-seconds S] [--keep]

It stops after N events, or after S seconds without a message (default 20),
whichever comes first. AWS credentials, region and endpoint come from the
usual environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).

Requires boto3 (pip install boto3).
"""

import argparse
import json
import math
import os
import sys
import time

import boto3


def resolve_event(s3, detail: dict):
    """The Akeneo event as Akeneo sent it: inline, or read from S3 when the
    relay replaced it with `event_pointer` because it was too large."""
    if detail.get("event") is not None:
        return detail["event"], None
    pointer = detail.get("event_pointer")
    if pointer is None:
        return None, None
    obj = s3.get_object(Bucket=pointer["s3_bucket"], Key=pointer["s3_key"])
    raw = obj["Body"].read()
    # The object is the relay's queue envelope: the event is its `event`, or
    # `event_text` (the event's exact text) when it held characters SQS refuses.
    stored = json.loads(raw)
    event = stored.get("event")
    if event is None and isinstance(stored.get("event_text"), str):
        event = json.loads(stored["event_text"])
    return event, f"s3://{pointer['s3_bucket']}/{pointer['s3_key']} ({len(raw)} bytes)"


def handle(s3, message: dict) -> None:
    envelope = json.loads(message["Body"])
    detail = envelope.get("detail") or {}
    if isinstance(detail, str):  # not from a rule target: someone sent the Detail string as is
        detail = json.loads(detail)
    event, fetched_from = resolve_event(s3, detail)

    keys = {k: v for k, v in (detail.get("keys") or {}).items() if v is not None}
    line = [
        envelope.get("detail-type", "?"),
        f"event_id={detail.get('event_id')}",
        f"protocol={detail.get('protocol')}",
        "keys=" + json.dumps(keys, separators=(",", ":")),
        f"current={detail.get('current_state')}",
    ]
    if fetched_from:
        line.append(f"event_from={fetched_from}")
    elif event is None:
        line.append("event=none")
    print(" ".join(line), flush=True)
    # A real consumer would act here: `event` is Akeneo's own JSON, and
    # `detail["current"]` the product or product model as the relay read it
    # from the PIM (when `current_state` is "found").


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--max-messages", type=int, default=0, help="stop after this many events (0: no limit)")
    parser.add_argument("--idle-seconds", type=float, default=20, help="stop after this long without a message")
    parser.add_argument("--keep", action="store_true", help="do not delete the messages read")
    args = parser.parse_args()

    # Lambda and the relay's own tools set AWS_REGION; boto3 reads only
    # AWS_DEFAULT_REGION (or a profile) by itself.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    sqs = boto3.client("sqs", region_name=region)
    s3 = boto3.client("s3", region_name=region)
    handled = 0
    last_message = time.monotonic()
    while True:
        remaining = args.max_messages - handled if args.max_messages else 10
        idle_left = args.idle_seconds - (time.monotonic() - last_message)
        if idle_left <= 0:
            break
        response = sqs.receive_message(
            QueueUrl=args.queue_url,
            MaxNumberOfMessages=max(1, min(10, remaining)),
            WaitTimeSeconds=min(20, math.ceil(idle_left)),
        )
        messages = response.get("Messages", [])
        if messages:
            last_message = time.monotonic()
        for message in messages:
            try:
                handle(s3, message)
            except Exception as error:  # noqa: BLE001 (keep the message: SQS redelivers it, then its DLQ takes it)
                print(f"failed: message {message['MessageId']}: {error!r}", file=sys.stderr, flush=True)
                continue
            if not args.keep:
                sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
            if args.max_messages and handled >= args.max_messages:
                return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
