//! What the administrator's reports and stuck-work view count in PostgreSQL: [`ReportStore`].

use super::*;

#[async_trait]
impl ReportStore for PostgresStore {
    async fn application_counts(&self) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(sql::APPLICATION_COUNTS)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter()
            .map(|(region, state, n)| {
                Ok(ApplicationCount {
                    region: region
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("region {region:?}")))?,
                    state: ApplicationState::ALL
                        .into_iter()
                        .find(|s| s.as_str() == state)
                        .ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?,
                    count: count(n)?,
                })
            })
            .collect()
    }

    async fn overdue_applications(
        &self,
        today: jiff::civil::Date,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        let rows = sqlx::query(&format!(
            "SELECT data, version FROM applications \
             WHERE state IN {} AND due_date < $1 \
             ORDER BY due_date, submitted_at, id LIMIT $2",
            codec::OVERDUE_STATES_SQL
        ))
        .bind(codec::date_text(today))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn overdue_counts(&self, today: jiff::civil::Date) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
            "SELECT region, state, COUNT(*) FROM applications \
             WHERE state IN {} AND due_date < $1 GROUP BY region, state ORDER BY region, state",
            codec::OVERDUE_STATES_SQL
        ))
        .bind(codec::date_text(today))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(codec::application_count).collect()
    }

    async fn applications_waiting_since(
        &self,
        state: ApplicationState,
        entered_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        // When it entered the state: its latest event into it (self-loops such as a refund
        // confirmation do not count). Per application through the events index.
        let rows = sqlx::query(sql::APPLICATIONS_WAITING_SINCE)
            .bind(state.as_str())
            .bind(micros(entered_before))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn activity_report(&self, period: &ReportPeriod) -> StoreResult<ActivityReport> {
        let (from, until) = (micros(period.from), micros(period.until));
        let offset = period.utc_offset.as_micros() as i64;
        let per_day: Vec<(i64, i64)> = sqlx::query_as(sql::SUBMITTED_PER_DAY)
            .bind(offset)
            .bind(codec::DAY_MICROS)
            .bind(from)
            .bind(until)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let per_region: Vec<(String, i64)> = sqlx::query_as(sql::SUBMITTED_PER_REGION)
            .bind(from)
            .bind(until)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let decisions: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(sql::DECISION_TIMES)
            .bind(from)
            .bind(until)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let reasons: Vec<(String, i64)> = sqlx::query_as(sql::ANNULMENT_REASONS)
            .bind(from)
            .bind(until)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(ActivityReport {
            submitted_per_day: per_day
                .into_iter()
                .map(codec::day_count)
                .collect::<StoreResult<_>>()?,
            submitted_per_region: per_region
                .into_iter()
                .map(codec::region_count)
                .collect::<StoreResult<_>>()?,
            decision_times: decisions
                .into_iter()
                .map(codec::decision_times)
                .collect::<StoreResult<_>>()?,
            annulment_reasons: reasons
                .into_iter()
                .map(codec::reason_count)
                .collect::<StoreResult<_>>()?,
        })
    }
}
