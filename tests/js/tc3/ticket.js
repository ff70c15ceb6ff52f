// Mints custom-login tickets with @cloudbase/node-sdk 3.18.3's own
// auth().createTicket, each on a frozen clock.
// stdin: a JSON list of {nowMs, env, credentials: {private_key_id, private_key, env_id},
// uid, options} (options as createTicket takes them: {refresh?, expire?}, milliseconds).
// stdout: a JSON list of {ticket} or, where createTicket throws, {error}.
'use strict'

const fs = require('fs')

const cases = JSON.parse(fs.readFileSync(0, 'utf8'))

// createTicket reads the time with `new Date().getTime()`: freeze every clock read.
let frozenMs = 0
const RealDate = Date
class FrozenDate extends RealDate {
  constructor (...args) {
    if (args.length === 0) super(frozenMs)
    else super(...args)
  }

  static now () {
    return frozenMs
  }
}
globalThis.Date = FrozenDate

const cloudbase = require('@cloudbase/node-sdk')

const results = cases.map((input) => {
  frozenMs = input.nowMs
  try {
    const app = cloudbase.init({ env: input.env, credentials: input.credentials })
    return { ticket: app.auth().createTicket(input.uid, input.options || {}) }
  } catch (error) {
    return { error: String(error && error.message) }
  }
})
process.stdout.write(JSON.stringify(results))
