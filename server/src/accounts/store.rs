//! Owner accounts and sessions in the database.

use async_trait::async_trait;

use super::{Invitation, Member, MemberChange, Owner, Role, Session};
use crate::db::{Db, Query, Row, StoreError};
use crate::domain::{SiteId, TokenHash};

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// `OwnerExists` if the email has an account.
    async fn create_owner(&self, owner: &Owner, now_ms: i64) -> Result<(), StoreError>;
    /// The account of this (normalized) email, if any.
    async fn owner_by_email(&self, email: &str) -> Result<Option<Owner>, StoreError>;
    async fn owner(&self, id: &str) -> Result<Option<Owner>, StoreError>;
    /// Replaces the password hash of the account of this (normalized) email and ends its
    /// sessions; `false` if there is no such account.
    async fn set_password(&self, email: &str, password_hash: &str) -> Result<bool, StoreError>;
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The session with this token hash, unless it has expired by `now_ms`.
    async fn session(
        &self,
        token_hash: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<Session>, StoreError>;
    /// Ends a session (signing out); also clears every expired one.
    async fn end_session(&self, token_hash: &TokenHash, now_ms: i64) -> Result<(), StoreError>;
    /// Deletes the account of this (normalized) email with its sessions and memberships;
    /// `false` if there is none.
    async fn delete_owner(&self, email: &str) -> Result<bool, StoreError>;
    /// What the account may do on the site; `None` when it is not a member (or either is gone).
    async fn role(&self, owner_id: &str, site: &SiteId) -> Result<Option<Role>, StoreError>;
    /// Makes the account a member of the site with `role`, or changes its role there.
    async fn set_role(
        &self,
        owner_id: &str,
        site: &SiteId,
        role: Role,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// The site's members, by email.
    async fn members(&self, site: &SiteId) -> Result<Vec<Member>, StoreError>;
    /// Changes a member's role, or removes the member with `None`, unless the account is not a
    /// member or the site would be left without an admin; then nothing changes.
    async fn change_member(
        &self,
        site: &SiteId,
        owner_id: &str,
        role: Option<Role>,
    ) -> Result<MemberChange, StoreError>;
    /// Records an invitation whose link carries a token of this hash.
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        token_hash: &TokenHash,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// The site's invitations not yet accepted nor expired, newest first.
    async fn invitations(&self, site: &SiteId, now_ms: i64) -> Result<Vec<Invitation>, StoreError>;
    /// The invitation of this token hash while it can still be accepted.
    async fn invitation(
        &self,
        token_hash: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<Invitation>, StoreError>;
    /// Accepts an invitation for `owner_id` once: its membership is added (one it has already
    /// is kept as it is) and the link stops working, together. `false` if it was used or has expired meanwhile.
    async fn accept_invitation(
        &self,
        token_hash: &TokenHash,
        owner_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
}

const INSERT_OWNER: &str =
    "INSERT INTO owners (id, email, password_hash, created_at_ms) VALUES ($1, $2, $3, $4)";

const SELECT_OWNER: &str = "SELECT id, email, password_hash FROM owners WHERE ";

/// Bind the new hash and the email; returns the account's id.
const SET_PASSWORD: &str = "UPDATE owners SET password_hash = $1 WHERE email = $2 RETURNING id";

const INSERT_SESSION: &str = "INSERT INTO sessions (token_hash, owner_id, csrf_token, \
     expires_at_ms) VALUES ($1, $2, $3, $4)";

const SELECT_SESSION: &str = "SELECT token_hash, owner_id, csrf_token, expires_at_ms \
     FROM sessions WHERE token_hash = $1 AND expires_at_ms > $2";

/// Bind the owner, the site, the role and now.
const UPSERT_MEMBERSHIP: &str = "INSERT INTO memberships (owner_id, site_id, role, created_at_ms) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (owner_id, site_id) DO UPDATE SET role = excluded.role";

const END_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1 OR expires_at_ms <= $2";

#[async_trait]
impl AccountStore for Db {
    async fn create_owner(&self, owner: &Owner, now_ms: i64) -> Result<(), StoreError> {
        let query = Query::new(INSERT_OWNER)
            .bind(&owner.id)
            .bind(&owner.email)
            .bind(&owner.password_hash)
            .bind(now_ms);
        match self.execute(query).await {
            Err(error) if error.is_unique_violation() => {
                Err(StoreError::OwnerExists(owner.email.clone()))
            }
            other => other.map(|_| ()),
        }
    }

    async fn owner_by_email(&self, email: &str) -> Result<Option<Owner>, StoreError> {
        let query = Query::new([SELECT_OWNER, "email = $1"].concat()).bind(email);
        self.fetch_optional(query)
            .await?
            .map(|row| owner_of(&row))
            .transpose()
    }

    async fn owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        let query = Query::new([SELECT_OWNER, "id = $1"].concat()).bind(id);
        self.fetch_optional(query)
            .await?
            .map(|row| owner_of(&row))
            .transpose()
    }

    async fn set_password(&self, email: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut transaction = self.begin().await?;
        let query = Query::new(SET_PASSWORD).bind(password_hash).bind(email);
        let Some(owner) = transaction.fetch_optional(query).await? else {
            return Ok(false);
        };
        let owner: String = owner.get("id")?;
        transaction
            .execute(Query::new("DELETE FROM sessions WHERE owner_id = $1").bind(owner))
            .await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let query = Query::new(INSERT_SESSION)
            .bind(session.token_hash.as_str())
            .bind(&session.owner_id)
            .bind(&session.csrf_token)
            .bind(session.expires_at_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn session(
        &self,
        token_hash: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<Session>, StoreError> {
        let query = Query::new(SELECT_SESSION)
            .bind(token_hash.as_str())
            .bind(now_ms);
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(None);
        };
        Ok(Some(Session {
            token_hash: TokenHash::from_stored(row.get("token_hash")?),
            owner_id: row.get("owner_id")?,
            csrf_token: row.get("csrf_token")?,
            expires_at_ms: row.get("expires_at_ms")?,
        }))
    }

    async fn end_session(&self, token_hash: &TokenHash, now_ms: i64) -> Result<(), StoreError> {
        let query = Query::new(END_SESSION)
            .bind(token_hash.as_str())
            .bind(now_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn delete_owner(&self, email: &str) -> Result<bool, StoreError> {
        let query = Query::new("DELETE FROM owners WHERE email = $1").bind(email);
        Ok(self.execute(query).await? > 0)
    }

    async fn role(&self, owner_id: &str, site: &SiteId) -> Result<Option<Role>, StoreError> {
        let query = Query::new("SELECT role FROM memberships WHERE owner_id = $1 AND site_id = $2")
            .bind(owner_id)
            .bind(site.as_str());
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(None);
        };
        row.parsed("role", Role::parse).map(Some)
    }

    async fn set_role(
        &self,
        owner_id: &str,
        site: &SiteId,
        role: Role,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = Query::new(UPSERT_MEMBERSHIP)
            .bind(owner_id)
            .bind(site.as_str())
            .bind(role.as_str())
            .bind(now_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn members(&self, site: &SiteId) -> Result<Vec<Member>, StoreError> {
        let query = Query::new(
            "SELECT o.id, o.email, m.role FROM memberships m JOIN owners o ON o.id = m.owner_id \
             WHERE m.site_id = $1 ORDER BY o.email",
        )
        .bind(site.as_str());
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| {
                Ok(Member {
                    owner_id: row.get("id")?,
                    email: row.get("email")?,
                    role: row.parsed("role", Role::parse)?,
                })
            })
            .collect()
    }

    async fn change_member(
        &self,
        site: &SiteId,
        owner_id: &str,
        role: Option<Role>,
    ) -> Result<MemberChange, StoreError> {
        // In one transaction with the count, so two admins demoting each other at once cannot
        // both succeed. The site's row is written first to take its lock (SQLite's write lock).
        let mut transaction = self.begin().await?;
        transaction
            .execute(Query::new("UPDATE sites SET name = name WHERE id = $1").bind(site.as_str()))
            .await?;
        let change = match role {
            Some(role) => {
                Query::new("UPDATE memberships SET role = $3 WHERE site_id = $1 AND owner_id = $2")
                    .bind(site.as_str())
                    .bind(owner_id)
                    .bind(role.as_str())
            }
            None => Query::new("DELETE FROM memberships WHERE site_id = $1 AND owner_id = $2")
                .bind(site.as_str())
                .bind(owner_id),
        };
        if transaction.execute(change).await? == 0 {
            return Ok(MemberChange::NotAMember);
        }
        let admins = transaction
            .fetch_optional(
                Query::new(
                    "SELECT COUNT(*) AS admins FROM memberships WHERE site_id = $1 AND role = 'admin'",
                )
                .bind(site.as_str()),
            )
            .await?
            .map(|row| row.get::<i64>("admins"))
            .transpose()?
            .unwrap_or(0);
        if admins == 0 {
            return Ok(MemberChange::LastAdmin);
        }
        transaction.commit().await?;
        Ok(MemberChange::Changed)
    }

    async fn create_invitation(
        &self,
        invitation: &Invitation,
        token_hash: &TokenHash,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = Query::new(
            "INSERT INTO invitations (token_hash, site_id, email, role, created_at_ms, \
             expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash.as_str())
        .bind(invitation.site_id.as_str())
        .bind(invitation.email.as_str())
        .bind(invitation.role.as_str())
        .bind(now_ms)
        .bind(invitation.expires_at_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn invitations(&self, site: &SiteId, now_ms: i64) -> Result<Vec<Invitation>, StoreError> {
        let query = Query::new(
            [
                SELECT_INVITATIONS,
                "site_id = $1 ORDER BY created_at_ms DESC",
            ]
            .concat(),
        )
        .bind(site.as_str())
        .bind(now_ms);
        self.fetch_all(query)
            .await?
            .iter()
            .map(invitation_of)
            .collect()
    }

    async fn invitation(
        &self,
        token_hash: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        let query = Query::new([SELECT_INVITATIONS, "token_hash = $1"].concat())
            .bind(token_hash.as_str())
            .bind(now_ms);
        self.fetch_optional(query)
            .await?
            .map(|row| invitation_of(&row))
            .transpose()
    }

    async fn accept_invitation(
        &self,
        token_hash: &TokenHash,
        owner_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.begin().await?;
        let used = transaction
            .fetch_optional(
                Query::new(
                    "UPDATE invitations SET accepted_at_ms = $2 WHERE token_hash = $1 \
                     AND accepted_at_ms IS NULL AND expires_at_ms > $2 RETURNING site_id, role",
                )
                .bind(token_hash.as_str())
                .bind(now_ms),
            )
            .await?;
        let Some(used) = used else {
            return Ok(false);
        };
        // An account that is a member already keeps its role: accepting never demotes an admin.
        let membership = Query::new(
            "INSERT INTO memberships (owner_id, site_id, role, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (owner_id, site_id) DO NOTHING",
        )
        .bind(owner_id)
        .bind(used.get::<String>("site_id")?)
        .bind(used.get::<String>("role")?)
        .bind(now_ms);
        transaction.execute(membership).await?;
        transaction.commit().await?;
        Ok(true)
    }
}

const SELECT_INVITATIONS: &str = "SELECT site_id, email, role, expires_at_ms FROM invitations \
     WHERE accepted_at_ms IS NULL AND expires_at_ms > $2 AND ";

fn invitation_of(row: &Row) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        site_id: row.parsed("site_id", |s| SiteId::parse(s).ok())?,
        email: row.get("email")?,
        role: row.parsed("role", Role::parse)?,
        expires_at_ms: row.get("expires_at_ms")?,
    })
}

fn owner_of(row: &Row) -> Result<Owner, StoreError> {
    Ok(Owner {
        id: row.get("id")?,
        email: row.get("email")?,
        password_hash: row.get("password_hash")?,
    })
}
