// Runs the named steps against the local gateway with the official @cloudbase/js-sdk,
// printing one JSON line per step: {"step", "ok", "result"} or {"step", "ok": false, "error"}.
//
//   node --require ./route-to-gateway.cjs check.cjs anonymous function
//
// A step is tests/js/steps/<name>.cjs exporting `async (app, context) => result`;
// `context` is shared by the steps of one run (the first steps sign in, later ones use it)
// and starts with what the test passed (runner.run_steps(..., context={...})).
"use strict";

const path = require("path");
const cloudbase = require("@cloudbase/js-sdk");

async function main() {
  const env = process.env.CLOUDBASE_LOCAL_ENV;
  // With CLOUDBASE_LOCAL_SECRET_ID/KEY the app is a server holding a Tencent Cloud
  // secret: the js-sdk's Node build then TC3-signs its gateway calls.
  const secret = process.env.CLOUDBASE_LOCAL_SECRET_ID
    ? { secretId: process.env.CLOUDBASE_LOCAL_SECRET_ID, secretKey: process.env.CLOUDBASE_LOCAL_SECRET_KEY }
    : { accessKey: process.env.CLOUDBASE_LOCAL_PUBLISHABLE_KEY };
  const app = cloudbase.init({ env, ...secret, timeout: 15000 });
  // A signature covers the Host it was made for, so a signing app talks to the gateway
  // at its own address (as a user pointing the js-sdk at a local gateway would).
  if (process.env.CLOUDBASE_LOCAL_SECRET_ID) {
    const url = new URL(process.env.CLOUDBASE_LOCAL_URL);
    app.registerHost(url.host, url.protocol.replace(":", ""));
  }
  // CLOUDBASE_LOCAL_CONTEXT: what the test hands the steps (JSON), e.g. a ticket.
  const given = JSON.parse(process.env.CLOUDBASE_LOCAL_CONTEXT || "{}");
  const context = { ...given, env, localUrl: process.env.CLOUDBASE_LOCAL_URL };
  let failed = false;
  for (const name of process.argv.slice(2)) {
    const step = require(path.join(__dirname, "steps", `${name}.cjs`));
    try {
      const result = await step(app, context);
      process.stdout.write(JSON.stringify({ step: name, ok: true, result }) + "\n");
    } catch (error) {
      failed = true;
      const detail = error && typeof error === "object" ? { ...error, message: error.message } : String(error);
      process.stdout.write(JSON.stringify({ step: name, ok: false, error: detail }) + "\n");
      break;
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
