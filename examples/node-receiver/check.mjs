// Self-check: starts server.js on a free port, posts one body signed as the
// relay signs it (HMAC-SHA256 with node:crypto, per the Standard Webhooks
// spec, not with the library under test) and one signed with another key,
// and expects 204 and 401. Run with `npm run check` after `npm install`.

import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import assert from "node:assert/strict";

const key = randomBytes(32);
const secret = `whsec_${key.toString("base64")}`;

function sign(signingKey, id, timestamp, body) {
  const mac = createHmac("sha256", signingKey).update(`${id}.${timestamp}.`).update(body).digest("base64");
  return `v1,${mac}`;
}

async function post(url, signingKey, id, body) {
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": timestamp,
      "webhook-signature": sign(signingKey, id, timestamp, body),
    },
    body,
  });
  return response.status;
}

const server = spawn(process.execPath, ["server.js"], {
  cwd: new URL(".", import.meta.url),
  env: { ...process.env, WEBHOOK_SECRET: secret, PORT: "0", HOST: "127.0.0.1" },
  stdio: ["ignore", "pipe", "inherit"],
});
let output = "";
server.stdout.setEncoding("utf8");
server.stdout.on("data", (text) => {
  output += text;
  process.stdout.write(`server: ${text}`);
});

try {
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start within 10 s")), 10_000);
    server.stdout.on("data", () => {
      const match = output.match(/listening on (\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    server.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });

  // Non-ASCII on purpose: the signature covers the body's UTF-8 bytes.
  const body = JSON.stringify({
    version: 1,
    type: "product.updated",
    protocol: "event-platform",
    event_id: "0b6d1d4e-6a39-4b8e-9a35-3f1c2a7e9d10",
    event_type: "com.akeneo.pim.v1.product.updated",
    occurred_at: "2025-01-01T00:00:00Z",
    pim: "https://pim.example.com",
    subscription: "sub-1",
    author: { identifier: "julia", type: "ui" },
    keys: { uuid: "5e1c0b2a-1f7c-4bde-9a0e-0d6f3a1e2b3c", identifier: "chaussette-é", code: null },
    stale: false,
    event: { note: "déjà vu" },
    current: null,
    current_state: "not_read",
  });

  const good = await post(url, key, "msg_good", body);
  const bad = await post(url, randomBytes(32), "msg_bad", body);
  assert.equal(good, 204, "a correctly signed webhook is answered 204");
  assert.equal(bad, 401, "a webhook signed with another key is answered 401");
  assert.match(output, /product\.updated event_id=0b6d1d4e-6a39-4b8e-9a35-3f1c2a7e9d10/);
  console.log("check: 2 passed, 0 failed");
} finally {
  server.kill();
}
