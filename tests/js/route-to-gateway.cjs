// Preloaded with `node --require`: sends the official SDK's requests for
// https://<env>.api.tcloudbasegateway.com (and the cloud metadata host it probes) to the
// local gateway, over plain HTTP, and refuses every other destination.
//
// CLOUDBASE_LOCAL_URL: the gateway's base URL; CLOUDBASE_LOCAL_ENV: the env id.
"use strict";

const http = require("http");
const https = require("https");

const target = new URL(process.env.CLOUDBASE_LOCAL_URL);
const env = process.env.CLOUDBASE_LOCAL_ENV;
const routed = new Set([
  `${env}.api.tcloudbasegateway.com`,
  `${env}.api.intl.tcloudbasegateway.com`,
  "metadata.tencentyun.com",
]);
const local = new Set([`${target.hostname}:${target.port}`]);

function refuse(where) {
  const error = new Error(`refused by route-to-gateway.cjs: ${where}`);
  error.code = "ECONNREFUSED";
  process.stderr.write(`[route-to-gateway] refused ${where}\n`);
  return error;
}

// The destination of an http(s).request(...) call, whatever form its arguments take.
function destination(args, defaultProtocol) {
  let [first, second] = args;
  let options = {};
  if (typeof first === "string" || first instanceof URL) {
    const url = new URL(first);
    options = {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
    };
    if (second && typeof second === "object") options = { ...options, ...second };
  } else {
    options = { ...first };
  }
  const host = String(options.hostname || options.host || "localhost").replace(/:\d+$/, "");
  const protocol = options.protocol || defaultProtocol;
  const port = String(options.port || (protocol === "https:" ? 443 : 80));
  return { options, host, port };
}

// Captured before anything is patched: every routed request goes out over plain HTTP.
const plain = { request: http.request.bind(http), get: http.get.bind(http) };

function patch(module, protocol) {
  for (const [name, call] of Object.entries(plain)) {
    module[name] = function (...args) {
      const callback = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
      const { options, host, port } = destination(args, protocol);
      if (routed.has(host) || local.has(`${host}:${port}`)) {
        const headers = { ...(options.headers || {}) };
        for (const key of Object.keys(headers)) if (key.toLowerCase() === "host") delete headers[key];
        const rewritten = {
          ...options,
          protocol: "http:",
          hostname: target.hostname,
          host: undefined,
          port: target.port,
          agent: undefined,
          headers,
        };
        return call(rewritten, callback);
      }
      throw refuse(`${protocol}//${host}:${port}`);
    };
  }
}

patch(https, "https:");
patch(http, "http:");

if (typeof globalThis.fetch === "function") {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = async function (input, init) {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    if (routed.has(url.hostname) || local.has(url.host)) {
      const rewritten = new URL(url.pathname + url.search, target);
      if (typeof input === "object" && !(input instanceof URL)) return originalFetch(new Request(rewritten, input), init);
      return originalFetch(rewritten, init);
    }
    throw refuse(url.origin);
  };
}
