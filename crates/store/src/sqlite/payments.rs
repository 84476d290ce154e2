//! Payments of the state duty and their refunds, in SQLite ([`PaymentStore`]).

use super::*;

#[async_trait]
impl PaymentStore for SqliteStore {
    async fn payment(&self, payment: Uuid) -> StoreResult<Option<PaymentRecord>> {
        self.lookup(|c| query_opt(c, sql::PAYMENT, [id(payment)], |r| codec::payment(r)))
    }

    async fn payment_by_reference(&self, reference: &str) -> StoreResult<Option<PaymentRecord>> {
        self.lookup(|c| {
            query_opt(c, sql::PAYMENT_BY_REFERENCE, [reference], |r| {
                codec::payment(r)
            })
        })
    }

    async fn payments_of(&self, app: ApplicationId) -> StoreResult<Vec<PaymentRecord>> {
        self.lookup(|c| query_all(c, sql::PAYMENTS_OF, [id(app.0)], |r| codec::payment(r)))
    }

    async fn payments_in(
        &self,
        status: PaymentStatus,
        max: u32,
    ) -> StoreResult<Vec<PaymentRecord>> {
        self.scan(move |c| {
            query_all(
                c,
                sql::PAYMENTS_IN,
                params![status.as_str(), limit(max)],
                |r| codec::payment(r),
            )
        })
        .await
    }

    async fn payments_count(&self, status: PaymentStatus) -> StoreResult<u64> {
        self.scan(move |c| count_of(c, sql::PAYMENTS_COUNT, [status.as_str()]))
            .await
    }

    async fn payment_totals(&self, status: PaymentStatus) -> StoreResult<PaymentTotals> {
        let row: (i64, i64) = self
            .scan(move |c| {
                query_opt(
                    c,
                    "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE status = ?",
                    [status.as_str()],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )
                .map(|r| r.unwrap_or((0, 0)))
            })
            .await?;
        codec::payment_totals(row)
    }

    async fn payments_stale(
        &self,
        status: PaymentStatus,
        updated_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<PaymentRecord>> {
        self.scan(move |c| {
            query_all(
                c,
                sql::PAYMENTS_STALE,
                params![status.as_str(), micros(updated_before), limit(max)],
                |r| codec::payment(r),
            )
        })
        .await
    }
}
