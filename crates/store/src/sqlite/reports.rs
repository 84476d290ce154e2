//! What the administrator's reports and stuck-work view count in SQLite: [`ReportStore`].

use super::*;

#[async_trait]
impl ReportStore for SqliteStore {
    async fn application_counts(&self) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = self
            .scan(|c| {
                query_all(c, sql::APPLICATION_COUNTS, [], |r| {
                    Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?))
                })
            })
            .await?;
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
        self.scan(move |c| {
            query_all(
                c,
                &format!(
                    "SELECT data, version FROM applications \
                     WHERE state IN {} AND due_date < ? \
                     ORDER BY due_date, submitted_at, id LIMIT ?",
                    codec::OVERDUE_STATES_SQL
                ),
                params![codec::date_text(today), limit(max)],
                |r| codec::application(r),
            )
        })
        .await
    }

    async fn overdue_counts(&self, today: jiff::civil::Date) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = self
            .scan(move |c| {
                query_all(
                    c,
                    &format!(
                        "SELECT region, state, COUNT(*) FROM applications \
                         WHERE state IN {} AND due_date < ? \
                         GROUP BY region, state ORDER BY region, state",
                        codec::OVERDUE_STATES_SQL
                    ),
                    [codec::date_text(today)],
                    |r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?)),
                )
            })
            .await?;
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
        self.scan(move |c| {
            query_all(
                c,
                sql::APPLICATIONS_WAITING_SINCE,
                params![state.as_str(), micros(entered_before), limit(max)],
                |r| codec::application(r),
            )
        })
        .await
    }

    async fn activity_report(&self, period: &ReportPeriod) -> StoreResult<ActivityReport> {
        let (from, until) = (micros(period.from), micros(period.until));
        let offset = period.utc_offset.as_micros() as i64;
        let (per_day, per_region, decisions, reasons) = self
            .scan(move |c| {
                let per_day: Vec<(i64, i64)> = query_all(
                    c,
                    sql::SUBMITTED_PER_DAY,
                    params![offset, codec::DAY_MICROS, from, until],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )?;
                let per_region: Vec<(String, i64)> =
                    query_all(c, sql::SUBMITTED_PER_REGION, params![from, until], |r| {
                        Ok((col(r, 0)?, col(r, 1)?))
                    })?;
                let decisions: Vec<(String, i64, i64, i64, i64)> =
                    query_all(c, sql::DECISION_TIMES, params![from, until], |r| {
                        Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?, col(r, 4)?))
                    })?;
                let reasons: Vec<(String, i64)> =
                    query_all(c, sql::ANNULMENT_REASONS, params![from, until], |r| {
                        Ok((col(r, 0)?, col(r, 1)?))
                    })?;
                Ok((per_day, per_region, decisions, reasons))
            })
            .await?;
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
