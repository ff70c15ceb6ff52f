// Signs requests with the official signer, called as @cloudbase/node-sdk 3.18.3 calls it
// for gateway requests (isCloudApi, no SignedParams), and reports what it hashed.
//
// stdin: a JSON list of {method, url, headers, body, timestamp, secretId, secretKey};
// `body` is the JSON text sent ("" for none). The signer hashes JSON.stringify of the
// parsed body, so a body that JSON.stringify would not reproduce is refused here.
// stdout: a JSON list of {authorization, timestamp, canonicalRequest, stringToSign}.
'use strict'

const fs = require('fs')
const utils = require('@cloudbase/signature-nodejs/lib/utils')
const { sign } = require('@cloudbase/signature-nodejs')

// The signer calls these through the module object, so wrapping them records the
// canonical request (the last string hashed) and the string to sign (the last message
// HMAC'd into hex) that it computed.
let hashed = []
let hexMessages = []
const { sha256hash, sha256hmac } = utils
utils.sha256hash = (text, ...rest) => {
  hashed.push(text)
  return sha256hash(text, ...rest)
}
utils.sha256hmac = (text, secret, encoding) => {
  if (encoding === 'hex') hexMessages.push(text)
  return sha256hmac(text, secret, encoding)
}

const vectors = JSON.parse(fs.readFileSync(0, 'utf8'))
const results = vectors.map((vector) => {
  let params = ''
  if (vector.body !== '') {
    params = JSON.parse(vector.body)
    if (JSON.stringify(params) !== vector.body) {
      throw new Error(`body ${vector.body} is not what JSON.stringify sends`)
    }
  }
  hashed = []
  hexMessages = []
  const { authorization, timestamp } = sign({
    secretId: vector.secretId,
    secretKey: vector.secretKey,
    method: vector.method,
    url: vector.url,
    headers: vector.headers,
    params,
    timestamp: vector.timestamp,
    withSignedParams: false,
    isCloudApi: true
  })
  return {
    authorization,
    timestamp,
    canonicalRequest: hashed[hashed.length - 1],
    stringToSign: hexMessages[hexMessages.length - 1]
  }
})
process.stdout.write(JSON.stringify(results))
