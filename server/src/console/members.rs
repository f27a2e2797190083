//! A site's members (admins): who may act on it and how, invitations by link, changing a role,
//! removing someone; and accepting an invitation, which needs no account yet.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::accounts::{
    normalize_email, spend_a_password_check, Invitation, Member, MemberChange, Owner, Role,
    INVITATION_DAYS, MIN_PASSWORD_CHARS,
};
use crate::clock;
use crate::domain::TokenHash;
use crate::mail::{MailKind, OutgoingMail};
use crate::sites::Site;
use crate::state::AppState;

use super::auth::{check_password, from_this_site, start_session, AsAdmin, SignedIn, SiteAccess};
use super::error::ConsoleError;
use super::pages::{day, layout, SignedInAs};
use super::sites::base_url;

/// What the page says besides the lists.
enum Notice<'a> {
    None,
    Invited {
        email: &'a str,
        link: &'a str,
        mailed: bool,
    },
    Refused(&'a str),
}

fn role_select(current: Role, label: &str) -> Markup {
    html! {
        select name="role" aria-label=(label) {
            @for role in [Role::Member, Role::Admin] {
                option value=(role.as_str()) selected[role == current] { (role.as_str()) }
            }
        }
    }
}

fn page(
    owner: SignedInAs<'_>,
    site: &Site,
    members: &[Member],
    invitations: &[Invitation],
    notice: Notice<'_>,
) -> Markup {
    let csrf = owner.csrf_token;
    let base = format!("/console/sites/{}/members", site.id);
    layout(
        &format!("Members · {}", site.name),
        Some(owner),
        html! {
            h1 { "Members of " (site.name) }
            p { "An " strong { "admin" } " does everything on the site: settings, survey, webhooks, tokens and members. A "
                strong { "member" } " reads results, comments and exports and works the inbox." }
            @match notice {
                Notice::Invited { email, link, mailed } => div.notice role="status" {
                    @if mailed {
                        p { "The invitation is on its way to " (email) ". The link works once, for "
                            (INVITATION_DAYS) " days; you may also pass it on yourself:" }
                    } @else {
                        p { "Mail is not set up on this server: pass this link on to " (email)
                            ". It works once, for " (INVITATION_DAYS) " days." }
                    }
                    pre { code { (link) } }
                },
                Notice::Refused(problem) => div.error role="alert" { p { (problem) } },
                Notice::None => {},
            }
            ul.members {
                @for member in members {
                    li {
                        strong { (member.email) }
                        form.inline method="post" action=(format!("{base}/{}", member.owner_id)) {
                            input type="hidden" name="csrf" value=(csrf);
                            (role_select(member.role, &format!("Role of {}", member.email)))
                            " "
                            button.secondary type="submit" { "Change" }
                        }
                        form.inline method="post" action=(format!("{base}/{}", member.owner_id)) {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="role" value="remove";
                            button.secondary type="submit" aria-label=(format!("Remove {}", member.email)) { "Remove" }
                        }
                    }
                }
            }
            @if !invitations.is_empty() {
                h2 { "Invited, not yet joined" }
                ul {
                    @for invitation in invitations {
                        li { (invitation.email) " as " (invitation.role.as_str()) ", until " (day(invitation.expires_at_ms)) }
                    }
                }
            }
            h2 { "Invite someone" }
            form.stack method="post" action=(base) {
                input type="hidden" name="csrf" value=(csrf);
                label { "Email" input type="email" name="email" required; }
                label { "Role" (role_select(Role::Member, "Role")) }
                button type="submit" { "Make an invitation link" }
            }
        },
    )
}

async fn show(
    state: &AppState,
    signed_in: &SignedIn,
    site: &Site,
    notice: Notice<'_>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let members = state.store.members(&site.id).await?;
    let invitations = state.store.invitations(&site.id, clock::now_ms()).await?;
    let page = page(signed_in.header(), site, &members, &invitations, notice);
    Ok((status, page).into_response())
}

/// `GET /console/sites/{site_id}/members`.
pub(super) async fn members(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
) -> Result<Response, ConsoleError> {
    show(&state, &signed_in, &site, Notice::None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct InviteForm {
    csrf: String,
    email: String,
    role: String,
}

/// `POST /console/sites/{site_id}/members`: an invitation, and its link to pass on.
pub(super) async fn invite(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let email = normalize_email(&form.email);
    let Some(role) = Role::parse(&form.role) else {
        let problem = "Choose the role admin or member; nobody was invited.";
        return show(
            &state,
            &signed_in,
            &site,
            Notice::Refused(problem),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    if !soovita_wire::is_valid_email(&email) {
        let problem = format!(
            "{:?} is not an email address; nobody was invited.",
            form.email
        );
        return show(
            &state,
            &signed_in,
            &site,
            Notice::Refused(&problem),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let now_ms = clock::now_ms();
    let (invitation, token) = Invitation::new(site.id.clone(), &email, role, now_ms);
    state
        .store
        .create_invitation(&invitation, &TokenHash::of(&token), now_ms)
        .await?;
    let link = format!(
        "{}/console/invitations/{token}",
        base_url(&state, peer, &headers)
    );
    // With mail on, the link goes out by mail from the queue, as replies do.
    let mailed = state.mail.is_some();
    if mailed {
        let subject = format!("Join {} on Soovita", site.name);
        let body = format!(
            "{} invites you to {} as {}.\n\nThis link works once, for {INVITATION_DAYS} days:\n\n{link}\n",
            signed_in.owner.email,
            site.name,
            role.as_str()
        );
        let mail = OutgoingMail::compose(
            MailKind::Invitation,
            site.id.clone(),
            None,
            &signed_in.owner.email,
            &email,
            &subject,
            &body,
        )
        .map_err(|error| ConsoleError::InvalidForm(error.to_string()))?;
        state.store.queue_mail(&mail, now_ms).await?;
    }
    let notice = Notice::Invited {
        email: &email,
        link: &link,
        mailed,
    };
    show(&state, &signed_in, &site, notice, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct MemberForm {
    csrf: String,
    /// `admin`, `member`, or `remove`.
    role: String,
}

/// `POST /console/sites/{site_id}/members/{owner_id}`: a new role, or removal. The last admin
/// can neither leave nor be demoted.
pub(super) async fn change(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Path((_, owner_id)): Path<(String, String)>,
    Form(form): Form<MemberForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let role = match form.role.as_str() {
        "remove" => None,
        name => Some(Role::parse(name).ok_or_else(|| {
            ConsoleError::InvalidForm("the role is admin, member or remove".into())
        })?),
    };
    match state.store.change_member(&site.id, &owner_id, role).await? {
        MemberChange::Changed => {}
        MemberChange::NotAMember => return Err(ConsoleError::UnknownMember),
        MemberChange::LastAdmin => {
            let problem = "A site keeps at least one admin: make someone else admin first.";
            return show(
                &state,
                &signed_in,
                &site,
                Notice::Refused(problem),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    }
    if owner_id == signed_in.owner.id && role != Some(Role::Admin) {
        return Ok(Redirect::to("/console").into_response());
    }
    Ok(Redirect::to(&format!("/console/sites/{}/members", site.id)).into_response())
}

fn invitation_page(
    invitation: &Invitation,
    site: &Site,
    has_account: bool,
    problem: Option<&str>,
) -> Markup {
    layout(
        &format!("Join {}", site.name),
        None,
        html! {
            h1 { "Join " (site.name) }
            p { "You are invited as " strong { (invitation.role.as_str()) } " of " (site.name) ", as " (invitation.email) "." }
            @if let Some(problem) = problem { p.error role="alert" { (problem) } }
            form.stack method="post" {
                @if has_account {
                    label { "Your password" input type="password" name="password" required autocomplete="current-password"; }
                    button type="submit" { "Sign in and join" }
                } @else {
                    label { (format!("Choose a password ({MIN_PASSWORD_CHARS} characters or more)"))
                        input type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; }
                    button type="submit" { "Make my account and join" }
                }
            }
        },
    )
}

/// The invitation a link's token names, with its site, or the page saying it no longer works.
async fn invitation_of(
    state: &AppState,
    token: &str,
) -> Result<Result<(Invitation, Site), Response>, ConsoleError> {
    let hash = TokenHash::of(token);
    let found = match state.store.invitation(&hash, clock::now_ms()).await? {
        Some(invitation) => state
            .store
            .site(&invitation.site_id)
            .await?
            .map(|site| (invitation, site)),
        None => None,
    };
    Ok(found.ok_or_else(|| {
        let page = layout(
            "Invitation",
            None,
            html! {
                h1 { "This invitation no longer works" }
                p { "It has been used, or its " (INVITATION_DAYS) " days are over. Ask the site's admin for a new one." }
            },
        );
        (StatusCode::NOT_FOUND, page).into_response()
    }))
}

/// `GET /console/invitations/{token}`.
pub(super) async fn invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ConsoleError> {
    let (invitation, site) = match invitation_of(&state, &token).await? {
        Ok(found) => found,
        Err(gone) => return Ok(gone),
    };
    let has_account = state
        .store
        .owner_by_email(&invitation.email)
        .await?
        .is_some();
    Ok(invitation_page(&invitation, &site, has_account, None).into_response())
}

#[derive(Deserialize)]
pub(super) struct AcceptForm {
    password: String,
}

/// `POST /console/invitations/{token}`: the account's password (or a new account's), then the
/// membership, and the browser signed in on the site's dashboard.
pub(super) async fn accept(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    state
        .limits
        .check_sign_in(peer.ip(), &headers)
        .map_err(ConsoleError::RateLimited)?;
    let (invitation, site) = match invitation_of(&state, &token).await? {
        Ok(found) => found,
        Err(gone) => return Ok(gone),
    };
    let existing = state.store.owner_by_email(&invitation.email).await?;
    let has_account = existing.is_some();
    let refuse = |problem: &str| {
        let page = invitation_page(&invitation, &site, has_account, Some(problem));
        Ok((StatusCode::BAD_REQUEST, page).into_response())
    };
    let owner = match existing {
        Some(_) => match check_password(&state, &invitation.email, form.password).await? {
            Some(owner) => owner,
            None => return refuse("Wrong password for this account."),
        },
        None => {
            if form.password.chars().count() < MIN_PASSWORD_CHARS {
                spend_a_password_check(&form.password);
                return refuse(&format!(
                    "Choose a password of {MIN_PASSWORD_CHARS} characters or more."
                ));
            }
            let owner = Owner::new(&invitation.email, &form.password);
            state.store.create_owner(&owner, clock::now_ms()).await?;
            owner
        }
    };
    if !state
        .store
        .accept_invitation(&TokenHash::of(&token), &owner.id, clock::now_ms())
        .await?
    {
        return refuse("This invitation was used a moment ago.");
    }
    start_session(
        &state,
        &owner,
        peer,
        &headers,
        &format!("/console/sites/{}", site.id),
    )
    .await
}
