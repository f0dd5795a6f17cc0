// Receives the Akeneo Event Relay's webhooks on POST /akeneo and verifies
// their Standard Webhooks signature with the `standardwebhooks` package.
//
//   WEBHOOK_SECRET=whsec_... PORT=8000 node server.js
//
// Answers 204 once an event is verified (and handled), 401 when its signature,
// id or timestamp does not verify (the library allows 5 minutes of clock
// skew). The relay retries on 429 and 5xx and dead-letters on any other 4xx,
// so answer 5xx for a failure that a retry can fix.
//
// As Standard Webhooks requires, every retry of one event carries the same
// `webhook-id`: a receiver that must act once per event deduplicates on it.

import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("WEBHOOK_SECRET is not set (whsec_<base64 key>, as given to the relay)");
  process.exit(2);
}
const webhook = new Webhook(secret);
const port = Number(process.env.PORT ?? 8000);
const host = process.env.HOST ?? "127.0.0.1";
// Bodies stay well under this: the relay leaves a too-large event in S3 and
// sends `event: null` with an `event_pointer` instead.
const maxBodyBytes = 8 * 1024 * 1024;

function handle(event) {
  // Act on the event here: event.type ("product.updated", ...), event.keys,
  // event.event (Akeneo's own JSON, or null with event.event_pointer), and
  // event.current (the product or product model as read from the PIM, when
  // event.current_state is "found").
  console.log(`${event.type} event_id=${event.event_id} current=${event.current_state}`);
}

function answer(res, status) {
  res.writeHead(status, { "content-length": "0" });
  res.end();
}

const server = createServer((req, res) => {
  const path = new URL(req.url, "http://localhost").pathname;
  if (path !== "/akeneo") return answer(res, 404);
  if (req.method !== "POST") return answer(res, 405);

  const chunks = [];
  let size = 0;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > maxBodyBytes) {
      answer(res, 413);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (res.headersSent) return;
    // Verify the bytes exactly as received: re-serialised JSON would not match.
    const body = Buffer.concat(chunks);
    let event;
    try {
      event = webhook.verify(body, req.headers);
    } catch (error) {
      console.warn(`rejected webhook-id=${req.headers["webhook-id"]}: ${error.message}`);
      return answer(res, 401);
    }
    try {
      handle(event);
    } catch (error) {
      console.error(`failed webhook-id=${req.headers["webhook-id"]}: ${error.stack}`);
      return answer(res, 500); // retried by the relay
    }
    answer(res, 204);
  });
});

server.listen(port, host, () => {
  const { address, port: bound } = server.address();
  console.log(`listening on http://${address}:${bound}/akeneo`);
});
