//! The back office's people: accounts, sessions, failed sign-ins and the audit. Passwords
//! arrive here already hashed (Argon2id, by `office::password`); session tokens as their
//! SHA-256, so a copy of the store opens no session.

use super::sql::{Row, Sql, vals};
use super::{Db, DbError};

/// What an account may do. Staff run the catalog and the day; owners also manage people,
/// keys and kiosks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Staff => "staff",
        }
    }

    fn parse(text: &str) -> Result<Role, DbError> {
        match text {
            "owner" => Ok(Role::Owner),
            "staff" => Ok(Role::Staff),
            other => Err(DbError::Invalid(format!("unknown role {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub atelier: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// A signed-in browser: its account and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The atelier's time zone (an IANA name; "UTC" until an owner sets one).
    pub time_zone: String,
}

/// One line of the audit: who changed what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub at: i64,
}

/// Where failed tries are counted: sign-ins per account and per address, pairing codes
/// typed wrong per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Account,
    Address,
    Pairing,
}

impl Throttle {
    fn as_str(self) -> &'static str {
        match self {
            Throttle::Account => "account",
            Throttle::Address => "address",
            Throttle::Pairing => "pairing",
        }
    }
}

const USER_COLUMNS: &str = "id, atelier, email, name, role";

fn user_of(row: &Row) -> Result<User, DbError> {
    Ok(User {
        id: row.int(0)?,
        atelier: row.text(1)?,
        email: row.text(2)?,
        name: row.text(3)?,
        role: Role::parse(&row.text(4)?)?,
    })
}

/// An address as kept: trimmed and lower case, so one mailbox is one account.
pub fn normal_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(super) fn record(
    tx: &mut dyn Sql,
    atelier: &str,
    actor: &str,
    action: &str,
    detail: &str,
    now: i64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO audit(atelier, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5)",
        vals![atelier, actor, action, detail, now],
    )?;
    Ok(())
}

/// An account to add: who, in which atelier, with which password (already hashed).
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub atelier: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

impl Db {
    /// Adds an account to `atelier`, in the audit as `actor`'s doing. An address already
    /// in use (in any atelier) is refused: it signs in to one atelier.
    pub fn add_user(&self, new: &NewUser, actor: &str, now: i64) -> Result<User, DbError> {
        let NewUser { atelier, email, name, role, password_hash } = *new;
        let email = normal_email(email);
        self.write(atelier, |tx| {
            if tx.query_opt("SELECT 1 FROM users WHERE email = $1", vals![&email])?.is_some() {
                return Err(DbError::Invalid(format!("{email} already has an account")));
            }
            let row = tx
                .query_opt(
                    "INSERT INTO users(atelier, email, name, role, password_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    vals![atelier, &email, name.trim(), role.as_str(), password_hash, now],
                )?
                .ok_or_else(|| DbError::Storage("the new account has no id".into()))?;
            record(tx, atelier, actor, "added an account", &format!("{email} ({})", role.as_str()), now)?;
            Ok(User { id: row.int(0)?, atelier: atelier.to_owned(), email, name: name.trim().to_owned(), role })
        })
    }

    /// A current account by its address, with its password hash.
    pub fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, DbError> {
        let email = normal_email(email);
        self.tx(|tx| {
            let row = tx.query_opt(
                &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1 AND removed_at IS NULL"),
                vals![&email],
            )?;
            row.map(|row| Ok((user_of(&row)?, row.text(5)?))).transpose()
        })
    }

    /// The atelier's current accounts, owners first.
    pub fn users_of(&self, atelier: &str) -> Result<Vec<User>, DbError> {
        self.tx(|tx| {
            tx.query(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE atelier = $1 AND removed_at IS NULL
                     ORDER BY role, email"
                ),
                vals![atelier],
            )?
            .iter()
            .map(user_of)
            .collect()
        })
    }

    /// Removes an account of `atelier` (never another atelier's) and ends its sessions. The
    /// last owner stays: an atelier without one could not be managed.
    pub fn remove_user(&self, atelier: &str, id: i64, actor: &str, now: i64) -> Result<User, DbError> {
        self.write(atelier, |tx| {
            let user = tx
                .query_opt(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND atelier = $2 AND removed_at IS NULL"),
                    vals![id, atelier],
                )?
                .map(|row| user_of(&row))
                .transpose()?
                .ok_or_else(|| DbError::Invalid("no such account".into()))?;
            if user.role == Role::Owner {
                let owners = tx.query_opt(
                    "SELECT COUNT(*) FROM users WHERE atelier = $1 AND role = 'owner' AND removed_at IS NULL",
                    vals![atelier],
                )?;
                if owners.map(|r| r.int(0)).transpose()?.unwrap_or(0) <= 1 {
                    return Err(DbError::Invalid(format!("{} is the atelier's last owner", user.email)));
                }
            }
            tx.execute("UPDATE users SET removed_at = $2 WHERE id = $1", vals![id, now])?;
            tx.execute("DELETE FROM sessions WHERE user_id = $1", vals![id])?;
            record(tx, atelier, actor, "removed an account", &user.email, now)?;
            Ok(user)
        })
    }

    /// Changes an account's password and ends every session it has.
    pub fn set_password(&self, user: &User, password_hash: &str, actor: &str, now: i64) -> Result<(), DbError> {
        self.write(&user.atelier, |tx| {
            tx.execute("UPDATE users SET password_hash = $2 WHERE id = $1", vals![user.id, password_hash])?;
            tx.execute("DELETE FROM sessions WHERE user_id = $1", vals![user.id])?;
            record(tx, &user.atelier, actor, "changed a password", &user.email, now)
        })
    }

    pub fn start_session(
        &self,
        user: &User,
        token_sha256: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO sessions(token_sha256, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                vals![token_sha256, user.id, csrf, now, expires_at],
            )?;
            Ok(())
        })
    }

    /// The session a token's hash opens, if it has not expired and its account is current.
    pub fn session(&self, token_sha256: &str, now: i64) -> Result<Option<Session>, DbError> {
        self.tx(|tx| {
            let row = tx.query_opt(
                "SELECT u.id, u.atelier, u.email, u.name, u.role, s.csrf, s.created_at, s.expires_at,
                        COALESCE(a.time_zone, 'UTC')
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 LEFT JOIN atelier_settings a ON a.atelier = u.atelier
                 WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND u.removed_at IS NULL",
                vals![token_sha256, now],
            )?;
            row.map(|row| {
                Ok(Session {
                    user: user_of(&row)?,
                    csrf: row.text(5)?,
                    created_at: row.int(6)?,
                    expires_at: row.int(7)?,
                    time_zone: row.text(8)?,
                })
            })
            .transpose()
        })
    }

    /// Sets the atelier's time zone (an IANA name the caller has checked), in the audit as
    /// `actor`'s doing; setting the zone it already has changes nothing.
    pub fn set_time_zone(&self, atelier: &str, zone: &str, actor: &str, now: i64) -> Result<(), DbError> {
        self.write(atelier, |tx| {
            let kept = tx.query_opt("SELECT time_zone FROM atelier_settings WHERE atelier = $1", vals![atelier])?;
            let kept = kept.map(|row| row.text(0)).transpose()?.unwrap_or_else(|| "UTC".to_owned());
            if kept == zone {
                return Ok(());
            }
            tx.execute(
                "INSERT INTO atelier_settings(atelier, time_zone) VALUES ($1, $2)
                 ON CONFLICT (atelier) DO UPDATE SET time_zone = excluded.time_zone",
                vals![atelier, zone],
            )?;
            record(tx, atelier, actor, "set the time zone", &format!("{kept} to {zone}"), now)
        })
    }

    /// Moves a session's end, as it is used.
    pub fn extend_session(&self, token_sha256: &str, expires_at: i64) -> Result<(), DbError> {
        self.tx(|tx| {
            tx.execute("UPDATE sessions SET expires_at = $2 WHERE token_sha256 = $1", vals![token_sha256, expires_at])?;
            Ok(())
        })
    }

    pub fn end_session(&self, token_sha256: &str) -> Result<(), DbError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM sessions WHERE token_sha256 = $1", vals![token_sha256])?;
            Ok(())
        })
    }

    /// Signs an account out on every browser; answers how many sessions ended.
    pub fn end_sessions_of(&self, user: &User, now: i64) -> Result<u64, DbError> {
        self.write(&user.atelier, |tx| {
            let ended = tx.execute("DELETE FROM sessions WHERE user_id = $1", vals![user.id])?;
            record(tx, &user.atelier, &user.email, "signed out everywhere", &format!("{ended} sessions"), now)?;
            Ok(ended)
        })
    }

    /// Failed sign-ins under `key` since `since`.
    pub fn login_failures(&self, scope: Throttle, key: &str, since: i64) -> Result<i64, DbError> {
        self.tx(|tx| {
            let row = tx.query_opt(
                "SELECT COUNT(*) FROM login_failures WHERE scope = $1 AND key = $2 AND at > $3",
                vals![scope.as_str(), key, since],
            )?;
            Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0))
        })
    }

    /// Counts a failed sign-in against the account and the address; forgets those older
    /// than `forget_before`, so the table stays small.
    pub fn record_login_failure(
        &self,
        email: &str,
        address: &str,
        now: i64,
        forget_before: i64,
    ) -> Result<(), DbError> {
        let email = normal_email(email);
        self.tx(|tx| {
            tx.execute("DELETE FROM login_failures WHERE at < $1", vals![forget_before])?;
            for (scope, key) in [(Throttle::Account, email.as_str()), (Throttle::Address, address)] {
                tx.execute(
                    "INSERT INTO login_failures(scope, key, at) VALUES ($1, $2, $3)",
                    vals![scope.as_str(), key, now],
                )?;
            }
            Ok(())
        })
    }

    /// Counts one failed try under `key`.
    pub fn record_failure(&self, scope: Throttle, key: &str, now: i64) -> Result<(), DbError> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO login_failures(scope, key, at) VALUES ($1, $2, $3)",
                vals![scope.as_str(), key, now],
            )?;
            Ok(())
        })
    }

    /// A successful sign-in clears its account's failures (not its address's).
    pub fn clear_login_failures(&self, email: &str) -> Result<(), DbError> {
        let email = normal_email(email);
        self.tx(|tx| {
            tx.execute("DELETE FROM login_failures WHERE scope = 'account' AND key = $1", vals![&email])?;
            Ok(())
        })
    }

    /// Notes a change in the atelier's audit.
    pub fn record_audit(
        &self,
        atelier: &str,
        actor: &str,
        action: &str,
        detail: &str,
        now: i64,
    ) -> Result<(), DbError> {
        self.tx(|tx| record(tx, atelier, actor, action, detail, now))
    }

    /// The atelier's audit, newest first, at most `limit` lines.
    pub fn audit_of(&self, atelier: &str, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
        self.tx(|tx| {
            tx.query(
                "SELECT actor, action, detail, at FROM audit WHERE atelier = $1 ORDER BY id DESC LIMIT $2",
                vals![atelier, limit],
            )?
            .iter()
            .map(|row| {
                Ok(AuditEntry { actor: row.text(0)?, action: row.text(1)?, detail: row.text(2)?, at: row.int(3)? })
            })
            .collect()
        })
    }
}
