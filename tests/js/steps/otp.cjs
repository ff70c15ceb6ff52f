// The SMS one-time-code flow: `signInWithOtp` asks POST /auth/v1/verification, the
// handle's `verifyOtp` verifies the code and signs up (or in) with the token it gets.
// The code is the one the test configured the gateway with (`context.code`).
"use strict";

module.exports = async function otp(app, context) {
  const auth = app.auth();
  const sent = await auth.signInWithOtp({ phone: context.phone });
  if (sent.error) throw sent.error;
  const verified = await sent.data.verifyOtp({ token: context.code });
  if (verified.error) throw verified.error;
  const { data, error } = await auth.getUser();
  if (error) throw error;
  return { uid: data.user.id, phone: data.user.phone_number || data.user.phone || null };
};
