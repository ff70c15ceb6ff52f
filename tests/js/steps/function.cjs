// A cloud function call: the gateway answers the function's value as the whole body.
"use strict";

module.exports = async function callFunction(app) {
  const response = await app.callFunction({ name: "echo", data: { hello: "from js-sdk" } });
  return { result: response.result, hasRequestId: Boolean(response.requestId) };
};
