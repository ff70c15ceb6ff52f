// Sign out: the js-sdk revokes its token (POST /auth/v1/revoke, no Authorization header).
// Returns the token it held, for the test to ask the gateway whether it still works.
"use strict";

module.exports = async function signOut(app) {
  const auth = app.auth();
  const { accessToken } = await auth.getAccessToken();
  await auth.signOut();
  return { accessToken };
};
