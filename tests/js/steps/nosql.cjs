// The document database through `app.database()`: in GATEWAY mode (the js-sdk's default)
// its actions become the gateway's REST calls under
// /v1/database/instances/(default)/databases/(default)/collections/{c}/documents.
// An add, a get by id, then a filtered query; the collection is created by the test.
"use strict";

module.exports = async function nosql(app, context) {
  const todos = app.database().collection("todos");
  const added = await todos.add({ title: "from js-sdk", done: false, n: 2, at: new Date(Date.UTC(2024, 0, 2)) });
  if (added.code) throw added;
  const got = await todos.doc(added.id).get();
  if (got.code) throw got;
  const queried = await todos.where({ done: false, n: app.database().command.gte(2) }).get();
  if (queried.code) throw queried;
  const counted = await todos.where({ done: false }).count();
  if (counted.code) throw counted;
  const doc = got.data[0];
  return {
    id: added.id,
    got: { ...doc, at: doc.at instanceof Date ? { date: doc.at.toISOString() } : doc.at },
    queried: queried.data.map((d) => d._id),
    total: counted.total,
  };
};
