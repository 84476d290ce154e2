//! What the administrator's reports and stuck-work view count: applications per region and state,
//! overdue and waiting ones, and a period's activity.

use crate::*;

#[async_trait]
pub trait ReportStore: Transactions {
    /// Applications per region and state.
    async fn application_counts(&self) -> StoreResult<Vec<ApplicationCount>>;
    /// Applications past their due date on `today` and still waiting for the service
    /// (the states of `Application::is_overdue`), oldest due date first.
    async fn overdue_applications(
        &self,
        today: jiff::civil::Date,
        limit: u32,
    ) -> StoreResult<Vec<StoredApplication>>;
    /// The same applications counted per region and state.
    async fn overdue_counts(&self, today: jiff::civil::Date) -> StoreResult<Vec<ApplicationCount>>;
    /// Applications in `state` that entered it (their latest event into it) before
    /// `entered_before`; longest waiting first.
    async fn applications_waiting_since(
        &self,
        state: ApplicationState,
        entered_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<StoredApplication>>;
    /// A period's submissions, decision times and annulment reasons (see [`ActivityReport`]).
    async fn activity_report(&self, period: &ReportPeriod) -> StoreResult<ActivityReport>;
}
