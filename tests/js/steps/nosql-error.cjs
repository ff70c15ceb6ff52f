// A document-database error as the js-sdk hands it to its caller: the gateway's
// {code, message, request_id} body (here 404 DATABASE_COLLECTION_NOT_EXIST) becomes the
// result's `code` and `data.message`; nothing is thrown.
"use strict";

module.exports = async function nosqlError(app) {
  const res = await app.database().collection("no_such_collection").where({}).get();
  return { code: res.code, message: res.data && res.data.message };
};
