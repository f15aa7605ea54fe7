//! Sign-in credentials: an e-mail address and an opaque password hash per
//! account. Hashing and sessions are the application's business (see
//! `hearth-web`); the engine only keeps what must be unique and atomic.

use crate::db::{self, Conn, params};

use crate::clock::to_millis;
use crate::db::OptionalExtension;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::UserId;
use crate::member::{NewUser, User, insert_user};
use crate::text::{check_name, validate_username};

/// Longest accepted password hash (a PHC string is about 100 bytes).
const MAX_HASH: usize = 512;

/// What [`Forum::create_account`] needs besides the [`NewUser`].
#[derive(Debug, Clone)]
pub struct NewLogin {
    /// The e-mail address; unique in any letter case.
    pub email: String,
    /// The password hash as a PHC string (`$argon2id$…`), made by the
    /// application. The engine never sees the password.
    pub password_hash: String,
    /// Whether the member is known to receive mail at `email` (the
    /// application checked it, or it trusts its own records). `false`
    /// until [`Forum::confirm_login`]: the application keeps such an
    /// account from signing in.
    pub confirmed: bool,
}

/// An account's credentials, for the application's sign-in check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The account.
    pub user: UserId,
    /// Its username.
    pub username: String,
    /// Its e-mail address.
    pub email: String,
    /// The stored hash to verify a password against.
    pub password_hash: String,
    /// Whether the address was confirmed ([`Forum::confirm_login`]).
    pub confirmed: bool,
}

pub(crate) fn check_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "email",
            "must be an address like name@example.com (at most 254 bytes)",
        ))
    }
}

fn check_hash(hash: &str) -> Result<()> {
    if hash.starts_with('$') && hash.len() <= MAX_HASH && hash.is_ascii() {
        Ok(())
    } else {
        Err(Error::invalid(
            "password_hash",
            "must be a PHC string such as $argon2id$… of at most 512 bytes",
        ))
    }
}

impl Forum {
    /// Creates an account that can sign in: the user and their credentials
    /// in one transaction, so a taken username or e-mail address leaves
    /// nothing behind (`Conflict` names which one).
    pub fn create_account(&self, new: NewUser, login: NewLogin) -> Result<User> {
        validate_username(&new.username)?;
        check_name("display_name", &new.display_name, 0, 60)?;
        let email = login.email.trim();
        check_email(email)?;
        check_hash(&login.password_hash)?;
        self.store.write(|tx| {
            let now = to_millis(self.now());
            let user = insert_user(tx, &new, now)?;
            let taken: bool = tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM logins WHERE email_lower = ?1)")?
                .query_row([email.to_lowercase()], |r| r.get(0))?;
            if taken {
                return Err(Error::conflict("email address is taken"));
            }
            tx.prepare_cached(
                "INSERT INTO logins (user_id, email, email_lower, password_hash, updated_at,
                                     confirmed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                user.id,
                email,
                email.to_lowercase(),
                login.password_hash,
                now,
                login.confirmed.then_some(now)
            ])?;
            Ok(user)
        })
    }

    /// The credentials of the account whose username or e-mail address is
    /// `login` (any letter case), or `None`. For the application's sign-in.
    pub fn login(&self, login: &str) -> Result<Option<Login>> {
        let login = login.trim();
        self.read(|conn, _| find_login(conn, login))
    }

    /// The credentials of an account, or `None` if it has none.
    pub fn login_of(&self, user: UserId) -> Result<Option<Login>> {
        self.read(|conn, _| {
            conn.prepare_cached(
                "SELECT l.user_id, u.username, l.email, l.password_hash, l.confirmed_at
                 FROM logins l JOIN users u ON u.id = l.user_id WHERE l.user_id = ?1",
            )?
            .query_row([user], login_from_row)
            .optional()
            .map_err(Error::from)
        })
    }

    /// Replaces an account's sign-in address (after the application
    /// confirmed the member receives mail there); an earlier bounce is
    /// forgotten. `Conflict` when another
    /// account uses it (any letter case), `NotFound` if the account has no
    /// credentials.
    pub fn set_login_email(&self, user: UserId, email: &str) -> Result<()> {
        let email = email.trim();
        check_email(email)?;
        let lower = email.to_lowercase();
        self.store.write(|tx| {
            let taken: bool = tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM logins WHERE email_lower = ?1 AND user_id <> ?2)",
                )?
                .query_row(params![lower, user], |r| r.get(0))?;
            if taken {
                return Err(Error::conflict("another account uses this address"));
            }
            let n = tx
                .prepare_cached(
                    "UPDATE logins SET email = ?2, email_lower = ?3, updated_at = ?4 WHERE user_id = ?1",
                )?
                .execute(params![user, email, lower, to_millis(self.now())])?;
            if n == 0 {
                return Err(Error::not_found("login"));
            }
            // A bounce was the old address's.
            tx.prepare_cached("UPDATE email_prefs SET bounced_at = NULL WHERE user_id = ?1")?
                .execute([user])?;
            Ok(())
        })
    }

    /// Records that the member receives mail at their sign-in address
    /// (they followed a link mailed there). Changes nothing when it was
    /// confirmed before; `NotFound` if the account has no credentials.
    pub fn confirm_login(&self, user: UserId) -> Result<()> {
        self.store.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE logins SET confirmed_at = coalesce(confirmed_at, ?2)
                     WHERE user_id = ?1",
                )?
                .execute(params![user, to_millis(self.now())])?;
            if n == 0 {
                return Err(Error::not_found("login"));
            }
            Ok(())
        })
    }

    /// Replaces an account's password hash (after a reset or a rehash with
    /// stronger parameters). `NotFound` if the account has no credentials.
    pub fn set_password_hash(&self, user: UserId, password_hash: &str) -> Result<()> {
        check_hash(password_hash)?;
        self.store.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE logins SET password_hash = ?2, updated_at = ?3 WHERE user_id = ?1",
                )?
                .execute(params![user, password_hash, to_millis(self.now())])?;
            if n == 0 {
                return Err(Error::not_found("login"));
            }
            Ok(())
        })
    }
}

fn login_from_row(r: &db::Row<'_>) -> db::Result<Login> {
    Ok(Login {
        user: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        password_hash: r.get(3)?,
        confirmed: r.get::<_, Option<i64>>(4)?.is_some(),
    })
}

fn find_login(conn: &Conn, login: &str) -> Result<Option<Login>> {
    let sql = if login.contains('@') {
        "SELECT l.user_id, u.username, l.email, l.password_hash, l.confirmed_at
         FROM logins l JOIN users u ON u.id = l.user_id WHERE l.email_lower = ?1"
    } else {
        "SELECT l.user_id, u.username, l.email, l.password_hash, l.confirmed_at
         FROM logins l JOIN users u ON u.id = l.user_id WHERE u.username_lower = ?1"
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row([login.to_lowercase()], login_from_row)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forum() -> (tempfile::TempDir, Forum) {
        let dir = tempfile::tempdir().expect("tempdir");
        let forum = Forum::open(dir.path().join("f.db")).expect("open");
        (dir, forum)
    }

    fn login(email: &str) -> NewLogin {
        NewLogin {
            email: email.into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            confirmed: true,
        }
    }

    #[test]
    fn account_and_login_are_created_together() {
        let (_d, forum) = forum();
        let ada = forum
            .create_account(NewUser::new("ada"), login("Ada@Example.com"))
            .expect("create");
        let by_name = forum.login("ADA").expect("read").expect("found");
        let by_mail = forum
            .login("ada@example.COM")
            .expect("read")
            .expect("found");
        assert_eq!(by_name, by_mail);
        assert_eq!(by_name.user, ada.id);
        assert_eq!(by_name.email, "Ada@Example.com");
        assert!(forum.login("nobody").expect("read").is_none());
        assert!(by_name.confirmed);
    }

    #[test]
    fn an_unconfirmed_address_is_confirmed_once() {
        let (_d, forum) = forum();
        let new = NewLogin {
            confirmed: false,
            ..login("bea@example.com")
        };
        let bea = forum
            .create_account(NewUser::new("bea"), new)
            .expect("create");
        assert!(!forum.login("bea").expect("read").expect("found").confirmed);
        forum.confirm_login(bea.id).expect("confirm");
        forum.confirm_login(bea.id).expect("again: nothing changes");
        assert!(forum.login("bea").expect("read").expect("found").confirmed);
        assert!(matches!(
            forum.confirm_login(UserId(9999)),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn taken_email_leaves_no_user_behind() {
        let (_d, forum) = forum();
        forum
            .create_account(NewUser::new("ada"), login("ada@example.com"))
            .expect("create");
        let err = forum
            .create_account(NewUser::new("bob"), login("ADA@example.com"))
            .expect_err("taken");
        assert!(matches!(err, Error::Conflict { .. }), "{err}");
        assert!(forum.user_by_username("bob").is_err());
    }

    #[test]
    fn bad_email_and_hash_are_invalid() {
        let (_d, forum) = forum();
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@example",
        ] {
            let err = forum
                .create_account(NewUser::new("ada"), login(bad))
                .expect_err(bad);
            assert!(
                matches!(err, Error::Invalid { field: "email", .. }),
                "{bad}: {err}"
            );
        }
        let mut l = login("ada@example.com");
        l.password_hash = "hunter2".into();
        let err = forum
            .create_account(NewUser::new("ada"), l)
            .expect_err("plain");
        assert!(matches!(
            err,
            Error::Invalid {
                field: "password_hash",
                ..
            }
        ));
        assert!(forum.user_by_username("ada").is_err());
    }

    #[test]
    fn password_hash_can_be_replaced() {
        let (_d, forum) = forum();
        let ada = forum
            .create_account(NewUser::new("ada"), login("ada@example.com"))
            .expect("create");
        forum
            .set_password_hash(ada.id, "$argon2id$new")
            .expect("set");
        let l = forum.login_of(ada.id).expect("read").expect("found");
        assert_eq!(l.password_hash, "$argon2id$new");
        let bob = forum.create_user(NewUser::new("bob")).expect("bob");
        assert!(matches!(
            forum.set_password_hash(bob.id, "$argon2id$x"),
            Err(Error::NotFound { .. })
        ));
    }
}
