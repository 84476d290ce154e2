//! Payments of the state duty and their refunds, in PostgreSQL ([`PaymentStore`]).

use super::*;

#[async_trait]
impl PaymentStore for PostgresStore {
    async fn payment(&self, payment: Uuid) -> StoreResult<Option<PaymentRecord>> {
        sqlx::query(sql::PAYMENT)
            .bind(payment)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::payment(&r))
            .transpose()
    }

    async fn payment_by_reference(&self, reference: &str) -> StoreResult<Option<PaymentRecord>> {
        sqlx::query(sql::PAYMENT_BY_REFERENCE)
            .bind(reference)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::payment(&r))
            .transpose()
    }

    async fn payments_of(&self, app: ApplicationId) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(sql::PAYMENTS_OF)
            .bind(app.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::payment)
    }

    async fn payments_in(
        &self,
        status: PaymentStatus,
        max: u32,
    ) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(sql::PAYMENTS_IN)
            .bind(status.as_str())
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::payment)
    }

    async fn payments_count(&self, status: PaymentStatus) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(sql::PAYMENTS_COUNT)
            .bind(status.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn payment_totals(&self, status: PaymentStatus) -> StoreResult<PaymentTotals> {
        // SUM of a BIGINT is NUMERIC in PostgreSQL: cast back (tiyn sums fit easily).
        let row: (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0)::BIGINT FROM payments WHERE status = $1",
        )
        .bind(status.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        codec::payment_totals(row)
    }

    async fn payments_stale(
        &self,
        status: PaymentStatus,
        updated_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(sql::PAYMENTS_STALE)
            .bind(status.as_str())
            .bind(micros(updated_before))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::payment)
    }
}
