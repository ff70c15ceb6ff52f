// A file uploaded, deleted (`deleteFile`: POST /v1/storages/delete-objects), then asked
// for again: the download info answers it per item as missing.
"use strict";

module.exports = async function storageDelete(app) {
  const uploaded = await app.uploadFile({ cloudPath: "js-sdk/delete-me.txt", fileContent: Buffer.from("bye") });
  const deleted = await app.deleteFile({ fileList: [uploaded.fileID] });
  const after = await app.getTempFileURL({ fileList: [uploaded.fileID] });
  return {
    fileID: uploaded.fileID,
    deleted: deleted.fileList.map(({ code, fileID }) => ({ code, fileID })),
    after: after.fileList.map(({ code, fileID }) => ({ code, fileID })),
  };
};
