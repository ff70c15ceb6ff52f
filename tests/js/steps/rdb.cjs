// The relational database through `app.rdb()` (PostgREST dialect under /v1/rdb/rest):
// an insert returning the row, a filtered select, an update returning the row, a delete.
"use strict";

module.exports = async function rdb(app) {
  const db = app.rdb();
  const inserted = await db.from("notes").insert({ title: "from js-sdk" }).select();
  if (inserted.error) throw inserted.error;
  const selected = await db.from("notes").select("id,title").eq("title", "from js-sdk");
  if (selected.error) throw selected.error;
  const updated = await db.from("notes").update({ title: "edited" }).eq("id", inserted.data[0].id).select();
  if (updated.error) throw updated.error;
  const deleted = await db.from("notes").delete().eq("title", "nothing like this");
  if (deleted.error) throw deleted.error;
  return { inserted: inserted.data, selected: selected.data, updated: updated.data, deletedStatus: deleted.status };
};
