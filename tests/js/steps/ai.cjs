// The AI model API through `app.ai()`: a chat streamed over SSE (`streamText`), then a
// plain one (`generateText`), both at /v1/ai/cloudbase/chat/completions.
"use strict";

module.exports = async function ai(app) {
  const model = app.ai().createModel("cloudbase");
  const streamed = await model.streamText({
    model: "hy3-preview",
    messages: [{ role: "user", content: "streamed to the js-sdk" }],
  });
  let text = "";
  for await (const piece of streamed.textStream) text += piece;
  const plain = await model.generateText({
    model: "hy3-preview",
    messages: [{ role: "user", content: "answered whole" }],
  });
  return { streamed: text, plain: plain.text };
};
