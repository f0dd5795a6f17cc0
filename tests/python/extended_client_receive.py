"""Receives one message with the official Python SQS Extended Client
(amazon-sqs-extended-client), as a consumer built on it would, and prints what
it got as one JSON line: the body's size and SHA-256 as the library resolved
it, and the attribute names it left. Run by tests/large_events.rs with the
AWS environment pointing at moto; nothing here parses the pointer itself.

usage: extended_client_receive.py QUEUE_URL
"""

import hashlib
import json
import sys

import boto3
import sqs_extended_client  # noqa: F401  (replaces boto3's Session with the extended one)


def main(queue_url: str) -> None:
    sqs = boto3.client("sqs")
    # The library asks for its reserved attribute itself; the relay's own
    # attributes are asked for as a consumer filtering on them would.
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=1,
        WaitTimeSeconds=5,
        MessageAttributeNames=["protocol", "type", "id"],
    )
    messages = response.get("Messages", [])
    if not messages:
        sys.exit("no message on the queue")
    message = messages[0]
    body = message["Body"].encode("utf-8")
    print(
        json.dumps(
            {
                "bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "attributes": sorted(message.get("MessageAttributes", {})),
                "receipt_handle_carries_pointer": sqs.is_s3_receipt_handle(message["ReceiptHandle"]),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
