//! The audit log as an administrator reads it: a page at a time, newest first, each entry
//! with who acted (the staff member's name, the citizen's IIN), what they did and — for an
//! application — its ticket; searchable by ticket, IIN, staff username or name.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::iin::Iin;
use kuelik_core::lifecycle::{Actor, ApplicationId, Role};
use kuelik_core::ticket::TicketNumber;
use kuelik_store::{AuditCursor, AuditQuery, AuditSearch};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiQuery;
use crate::AppState;

/// How many entries a page holds unless the caller asks for fewer.
const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditLogQuery {
    /// A ticket number, an IIN, an application id, a staff username or part of a staff
    /// member's name. Entries about that application (or that person's applications) and
    /// entries made by that person.
    pub q: Option<String>,
    /// The `next` of the previous page: the entries after it.
    #[param(pattern = "^[0-9]+\\.[0-9]+$")]
    pub before: Option<String>,
    /// At most this many entries (1–100, default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageView {
    pub entries: Vec<AuditView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: Uuid,
    pub at: String,
    pub actor_role: String,
    /// Who acted: a staff member's name and username, a citizen's IIN; absent for the
    /// service itself.
    pub actor: Option<String>,
    /// What was done, e.g. `application.approve`.
    pub action: String,
    pub target: Option<String>,
    /// The ticket of the application the entry is about, if it has one.
    pub ticket: Option<String>,
}

/// A page of the audit log (administrators).
#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(AuditLogQuery),
    responses((status = 200, body = AuditPageView)))]
pub async fn audit_log(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AuditLogQuery>,
) -> ApiResult<Json<AuditPageView>> {
    principal.staff(Role::Administrator)?;
    let limit = q.limit.unwrap_or(PAGE);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::plain(ErrorCode::BadQuery, "limit: 1 to 100"));
    }
    let before = q.before.as_deref().map(cursor).transpose()?;
    let staff = state.store.list_staff().await?;
    let search = match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => Some(search_for(&state, text, &staff).await?),
        None => None,
    };
    // One more than the page: whether there is a next page, without another query.
    let mut records = state
        .store
        .audit_page(&AuditQuery { before, search }, limit + 1)
        .await?;
    let more = records.len() > limit as usize;
    records.truncate(limit as usize);
    let next = more
        .then(|| {
            records
                .last()
                .map(|r| format!("{}.{}", r.cursor.at.as_microsecond(), r.cursor.pos))
        })
        .flatten();

    let names: HashMap<_, _> = staff
        .iter()
        .map(|s| (s.id, format!("{} ({})", s.display_name, s.username)))
        .collect();
    let mut tickets: HashMap<String, Option<String>> = HashMap::new();
    for target in records.iter().filter_map(|r| r.entry.target.as_ref()) {
        if tickets.contains_key(target) {
            continue;
        }
        let ticket = match target.parse::<Uuid>() {
            Ok(id) => state
                .store
                .application(ApplicationId(id))
                .await?
                .and_then(|a| a.application.ticket.map(|t| t.to_string())),
            Err(_) => None,
        };
        tickets.insert(target.clone(), ticket);
    }
    let entries = records
        .into_iter()
        .map(|r| {
            let e = r.entry;
            let actor = match &e.actor {
                Actor::Citizen { iin } => Some(iin.to_string()),
                Actor::System => None,
                staff_actor => staff_actor.staff().and_then(|id| names.get(&id).cloned()),
            };
            AuditView {
                id: e.id,
                at: e.at.to_string(),
                actor_role: e.actor.role().as_str().into(),
                actor,
                ticket: e
                    .target
                    .as_ref()
                    .and_then(|t| tickets.get(t).cloned().flatten()),
                action: e.action,
                target: e.target,
            }
        })
        .collect();
    Ok(Json(AuditPageView { entries, next }))
}

/// `<microseconds>.<pos>`, as `next` wrote it.
fn cursor(raw: &str) -> ApiResult<AuditCursor> {
    let bad = || ApiError::plain(ErrorCode::BadQuery, "before: the `next` of a page");
    let (at, pos) = raw.split_once('.').ok_or_else(bad)?;
    let at = at
        .parse::<i64>()
        .ok()
        .and_then(|m| jiff::Timestamp::from_microsecond(m).ok())
        .ok_or_else(bad)?;
    let pos = pos.parse::<i64>().map_err(|_| bad())?;
    Ok(AuditCursor { at, pos })
}

/// What the search text names: an application (by ticket or id), a person (by IIN: their
/// own actions and their applications), or staff (by username, or part of their name).
async fn search_for(
    state: &AppState,
    text: &str,
    staff: &[kuelik_store::StaffAccount],
) -> ApiResult<AuditSearch> {
    let mut search = AuditSearch::default();
    if let Ok(ticket) = TicketNumber::parse(text) {
        if let Some(app) = state.store.application_by_ticket(&ticket).await? {
            search.targets.push(app.application.id.to_string());
        }
    } else if let Ok(id) = text.parse::<Uuid>() {
        search.targets.push(id.to_string());
    } else if let Ok(iin) = text.parse::<Iin>() {
        let apps = state.store.applications_of(&iin).await?;
        search
            .targets
            .extend(apps.iter().map(|a| a.application.id.to_string()));
        search.citizen = Some(iin);
    } else {
        let wanted = text.to_lowercase();
        search.staff = staff
            .iter()
            .filter(|s| s.username == wanted || s.display_name.to_lowercase().contains(&wanted))
            .map(|s| s.id)
            .collect();
    }
    Ok(search)
}
