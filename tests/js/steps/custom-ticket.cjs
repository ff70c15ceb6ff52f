// Custom-login sign-in: `signInWithCustomTicket` posts {provider_id: "custom", ticket} to
// /auth/v1/signin/custom. The ticket comes from the test (context.ticket), minted the way
// a backend mints one.
"use strict";

module.exports = async function customTicket(app, context) {
  const auth = app.auth();
  const { error } = await auth.signInWithCustomTicket(() => Promise.resolve(context.ticket));
  if (error) throw error;
  const { data, error: userError } = await auth.getUser();
  if (userError) throw userError;
  return { uid: data.user.id, isAnonymous: data.user.is_anonymous };
};
