//! Payments of the state duty and their refunds.

use crate::*;

#[async_trait]
pub trait PaymentStore: Transactions {
    async fn payment(&self, id: Uuid) -> StoreResult<Option<PaymentRecord>>;
    async fn payment_by_reference(&self, reference: &str) -> StoreResult<Option<PaymentRecord>>;
    async fn payments_of(&self, application: ApplicationId) -> StoreResult<Vec<PaymentRecord>>;
    /// Payments in a status, oldest first (the refund worker reads `RefundPending`).
    async fn payments_in(
        &self,
        status: PaymentStatus,
        limit: u32,
    ) -> StoreResult<Vec<PaymentRecord>>;
    /// How many payments are in a status (refunds outstanding, for metrics).
    async fn payments_count(&self, status: PaymentStatus) -> StoreResult<u64>;
    /// How many payments are in a status and their sum (refunds outstanding, for reports).
    async fn payment_totals(&self, status: PaymentStatus) -> StoreResult<PaymentTotals>;
    /// Payments in a status since before `updated_before` (stuck work), oldest first.
    async fn payments_stale(
        &self,
        status: PaymentStatus,
        updated_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<PaymentRecord>>;
}
