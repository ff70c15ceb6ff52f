// Storage, the classic flow: `uploadFile` asks POST /v1/storages/get-objects-upload-info
// (signing content-type and content-length), PUTs the bytes to the upload URL the gateway
// hands out; `getTempFileURL` (get-objects-download-info) gives a download URL and
// `downloadFile` fetches it with no credential. Returns the bytes as base64 to compare.
"use strict";

const CONTENT = Buffer.from("hello from the js-sdk\n\u00e9\u4e2d\n", "utf8");

module.exports = async function storage(app, context) {
  const cloudPath = `js-sdk/${context.uid || "someone"}/hello.txt`;
  const uploaded = await app.uploadFile({ cloudPath, fileContent: CONTENT });
  const temp = await app.getTempFileURL({ fileList: [uploaded.fileID] });
  const item = temp.fileList[0];
  if (item.code !== "SUCCESS") throw item;
  const downloaded = await app.downloadFile({ fileID: uploaded.fileID });
  const fetched = Buffer.from(await (await fetch(item.tempFileURL)).arrayBuffer());
  return {
    fileID: uploaded.fileID,
    cloudPath,
    sent: CONTENT.toString("base64"),
    downloaded: Buffer.from(downloaded.fileContent).toString("base64"),
    fetched: fetched.toString("base64"),
    tempFileURL: item.tempFileURL,
  };
};
