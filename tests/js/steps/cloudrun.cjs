// A CloudRun call through `app.callContainer`: POST /v1/cloudrun/{service}/{path}; the
// js-sdk resolves to the service's decoded JSON body.
"use strict";

module.exports = async function cloudrun(app) {
  const body = await app.callContainer({ name: "echo-run", method: "POST", path: "/hello", data: { a: 1 } });
  return { body };
};
