// Document updates and removals through `app.database()`: operators (`inc`, `push`), an
// ordered projected query, `set`, `remove` by id, and `where(...).update/remove`.
"use strict";

module.exports = async function nosqlWrite(app) {
  const db = app.database();
  const _ = db.command;
  const todos = db.collection("todos");
  const a = await todos.add({ n: 1, tags: ["x"] });
  const b = await todos.add({ n: 5, tags: ["y"] });
  const ordered = await todos.where({ n: _.gt(0) }).orderBy("n", "desc").field({ n: true }).get();
  const incremented = await todos.doc(a.id).update({ n: _.inc(10), tags: _.push("z") });
  const afterUpdate = await todos.doc(a.id).get();
  const replaced = await todos.doc(b.id).set({ n: 7 });
  const afterSet = await todos.doc(b.id).get();
  const removed = await todos.doc(b.id).remove();
  const marked = await todos.where({ n: _.gte(0) }).update({ seen: true });
  const swept = await todos.where({ seen: true }).remove();
  const left = await todos.count();
  for (const r of [a, b, ordered, incremented, afterUpdate, replaced, afterSet, removed, marked, swept, left]) {
    if (r.code) throw r;
  }
  const strip = ({ _openid, ...rest }) => rest;
  return {
    ids: [a.id, b.id],
    ordered: ordered.data,
    incremented: incremented.updated,
    afterUpdate: afterUpdate.data.map(strip),
    replaced: replaced.updated,
    afterSet: afterSet.data.map(strip),
    removed: removed.deleted,
    marked: marked.updated,
    swept: swept.deleted,
    left: left.total,
  };
};
