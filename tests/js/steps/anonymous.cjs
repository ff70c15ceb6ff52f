// Anonymous sign-in, then the user as the SDK sees it (`is_anonymous` comes from the
// gateway's `GET /auth/v1/user/me` answering name "anonymous").
"use strict";

module.exports = async function anonymous(app, context) {
  const auth = app.auth();
  await auth.signInAnonymously();
  const state = await auth.getLoginState();
  const { data, error } = await auth.getUser();
  if (error) throw error;
  context.uid = data.user.id;
  return { loggedIn: Boolean(state), isAnonymous: data.user.is_anonymous, uid: data.user.id };
};
