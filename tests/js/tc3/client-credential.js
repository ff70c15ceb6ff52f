// Runs @cloudbase/node-sdk 3.18.3's own auth().getClientCredential() against a loopback
// recording server, on a frozen clock, so a test can check the request it really sends.
// stdin: {port, nowMs, env, secretId, secretKey, sessionToken?}
// stdout: {"result": <what getClientCredential resolved to>}.
//
// node-sdk always targets https://<env>.api.tcloudbasegateway.com: those requests are
// sent to http://127.0.0.1:<port> instead, with their own Host header kept. Every
// other destination (node-sdk's probe of the Tencent Cloud metadata server, say) is
// refused, so nothing leaves the machine.
'use strict'

const fs = require('fs')
const http = require('http')
const https = require('https')

const input = JSON.parse(fs.readFileSync(0, 'utf8'))

const RealDate = Date
class FrozenDate extends RealDate {
  constructor (...args) {
    if (args.length === 0) super(input.nowMs)
    else super(...args)
  }

  static now () {
    return input.nowMs
  }
}
globalThis.Date = FrozenDate

const GATEWAY = /\.tcloudbasegateway\.com$/
const httpRequest = http.request
function toLoopback (url, options, callback) {
  if (typeof options === 'function') [options, callback] = [{}, options]
  const target = typeof url === 'string' || url instanceof URL ? new URL(url) : null
  if (target === null || !GATEWAY.test(target.hostname)) {
    const where = target ? target.host : (url && (url.hostname || url.host))
    throw new Error(`refused: a request to ${where} in a loopback-only test`)
  }
  const headers = { Host: target.host, ...(options && options.headers) }
  const local = `http://127.0.0.1:${input.port}${target.pathname}${target.search}`
  return httpRequest(local, { ...options, headers, agent: undefined }, callback)
}
http.request = toLoopback
https.request = toLoopback
http.get = (...args) => toLoopback(...args).end()
https.get = http.get
globalThis.fetch = async (url) => {
  throw new Error(`refused: fetch(${url}) in a loopback-only test`)
}

const cloudbase = require('@cloudbase/node-sdk')

const app = cloudbase.init({
  env: input.env,
  secretId: input.secretId,
  secretKey: input.secretKey,
  sessionToken: input.sessionToken
})
app.auth().getClientCredential().then(
  (result) => process.stdout.write(JSON.stringify({ result })),
  (error) => {
    process.stderr.write(String(error && error.stack))
    process.exitCode = 1
  }
)
