// Package auth signs participants in to the mobile app.
//
// Two ways in (docs/architecture.md §1): a one-time code sent by SMS to the phone, or a
// login (or phone) with a password the client handed out in its registry.
// Both end in a Tokens pair: a short-lived JWT access token (HS256; claims
// participant id, client id, role) and an opaque refresh token that rotates
// on every use. Refresh tokens and codes are stored only as hashes.
//
// Rules:
//   - Phones are normalised to E.164 (+7…) with libphonenumber; a Russian
//     number written nationally (8 999 …, 999 …) is read as +7.
//   - Codes are 6 digits, live Config.OTPTTL, are single-use, and die after
//     Config.OTPMaxAttempts wrong guesses. Requests and guesses are limited
//     per phone and per IP in Redis (ratelimit.ExceededError → 429).
//   - A code is sent only when some participant has the phone, but the
//     answer is the same either way, so the endpoint does not tell who is
//     registered.
//   - Only invited and active participants sign in; an invited one becomes
//     active on the first sign-in; a blocked one gets ErrBlocked (403).
//   - One phone may belong to participants of several clients (a seller who
//     sells for two manufacturers). Verification and password login then
//     return a *ChoiceError listing them (client and role, no personal
//     data) without consuming the code; the app asks the person and repeats
//     the call with participant_id. Tokens are per participant.
//   - Reusing a rotated refresh token revokes its whole family (the sign-in
//     session): whoever holds a copy is signed out.
//   - An access token names its session (claim sid, the refresh token
//     family). Authenticate refuses a token whose session was logged out
//     or revoked (one indexed lookup per request), so logout takes effect
//     at once, not when the token expires; blocking takes effect at once
//     because every request loads the participant.
//   - Password guesses count per account (login and phone alike) before
//     any hash, and hashes run under the process-wide password.Shared
//     bound (ErrBusy → 503 when it stays full).
package auth
