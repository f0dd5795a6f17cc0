<?php
// Receives the Akeneo Event Relay's webhooks and verifies their Standard
// Webhooks signature with the official library (standard-webhooks/standard-webhooks).
//
//   composer install
//   WEBHOOK_SECRET=whsec_... php -S 127.0.0.1:8000 index.php
//
// Answers 204 once an event is verified (and handled), 401 when its signature,
// id or timestamp does not verify (the library allows 5 minutes of clock
// skew). The relay retries on 429 and 5xx and dead-letters on any other 4xx,
// so answer 5xx for a failure that a retry can fix. As Standard Webhooks
// requires, every retry of one event carries the same `webhook-id`:
// deduplicate on it to act once.

declare(strict_types=1);

require __DIR__ . '/vendor/autoload.php';

use StandardWebhooks\Webhook;

/** The request's headers, names lower-cased: the library looks up
 * `webhook-id`, `webhook-timestamp` and `webhook-signature` exactly so. */
function request_headers(array $server): array
{
    $headers = [];
    foreach ($server as $name => $value) {
        if (str_starts_with($name, 'HTTP_')) {
            $headers[strtolower(str_replace('_', '-', substr($name, 5)))] = $value;
        }
    }
    return $headers;
}

function handle(array $event): void
{
    // Act on the event here: $event['type'] ("product.updated", ...),
    // $event['keys'], $event['event'] (Akeneo's own JSON, or null with
    // $event['event_pointer']), and $event['current'] (the product or product
    // model as read from the PIM, when $event['current_state'] is "found").
    error_log(sprintf('%s event_id=%s current=%s', $event['type'] ?? '?', $event['event_id'] ?? 'null', $event['current_state'] ?? '?'));
}

if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    header('allow: POST');
    http_response_code(405);
    exit;
}

$secret = getenv('WEBHOOK_SECRET');
if ($secret === false || $secret === '') {
    error_log('WEBHOOK_SECRET is not set (whsec_<base64 key>, as given to the relay)');
    http_response_code(500); // a configuration error: let the relay retry
    exit;
}

// Verify the bytes exactly as received: re-encoded JSON would not match.
$payload = file_get_contents('php://input');
$headers = request_headers($_SERVER);
try {
    $event = (new Webhook($secret))->verify($payload, $headers);
} catch (\Throwable $error) {
    // WebhookVerificationException, and the TypeError the library raises on
    // a malformed signature header.
    error_log(sprintf('rejected webhook-id=%s: %s', $headers['webhook-id'] ?? 'none', $error->getMessage()));
    http_response_code(401);
    exit;
}
if (!is_array($event)) {
    error_log(sprintf('rejected webhook-id=%s: the body is not a JSON object', $headers['webhook-id']));
    http_response_code(400);
    exit;
}

try {
    handle($event);
} catch (\Throwable $error) {
    error_log(sprintf('failed webhook-id=%s: %s', $headers['webhook-id'], $error));
    http_response_code(500); // retried by the relay
    exit;
}
http_response_code(204);
