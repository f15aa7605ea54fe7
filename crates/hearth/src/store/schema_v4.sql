-- Schema v4: sign-in credentials.
--
-- One row per account that can sign in with a password. The engine stores
-- the e-mail address and an opaque password hash (the application hashes,
-- e.g. argon2id in hearth-web); it never sees a password.
CREATE TABLE logins (
    user_id        INTEGER PRIMARY KEY REFERENCES users(id),
    email          TEXT NOT NULL,
    email_lower    TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    updated_at     INTEGER NOT NULL
);
