//! The population register's copy in PostgreSQL: [`PeopleStore`].

use super::*;

#[async_trait]
impl PeopleStore for PostgresStore {
    async fn put_people(&self, people: &[Person]) -> StoreResult<u64> {
        let unique = codec::dedupe_people(people);
        let mut written = 0;
        for chunk in unique.chunks(PEOPLE_PER_STATEMENT) {
            let rows = codec::person_rows(chunk)?;
            let mut iins = Vec::with_capacity(rows.len());
            let mut regions = Vec::with_capacity(rows.len());
            let mut data = Vec::with_capacity(rows.len());
            for r in rows {
                iins.push(r.iin);
                regions.push(r.region);
                data.push(r.data);
            }
            let done = sqlx::query(
                "INSERT INTO people (iin, region, data) \
                 SELECT iin, region, data::jsonb \
                 FROM UNNEST($1::text[], $2::text[], $3::text[]) AS p (iin, region, data) \
                 ON CONFLICT (iin) DO UPDATE SET region = excluded.region, data = excluded.data",
            )
            .bind(&iins)
            .bind(&regions)
            .bind(&data)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
            written += done.rows_affected();
        }
        Ok(written)
    }

    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>> {
        sqlx::query(sql::PERSON)
            .bind(iin.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::person(&r))
            .transpose()
    }

    async fn count_people(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(sql::COUNT_PEOPLE)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn people_to_remind(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        limit: u32,
    ) -> StoreResult<Vec<Person>> {
        let rows = sqlx::query(sql::PEOPLE_TO_REMIND)
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(codec::person).collect()
    }

    async fn reminder_opted_out(&self, iin: &Iin) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(sql::REMINDER_OPTED_OUT)
            .bind(iin.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    async fn contact_details(&self, iin: &Iin) -> StoreResult<Option<ContactDetails>> {
        sqlx::query(sql::CONTACT_DETAILS)
            .bind(iin.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::contact(&r))
            .transpose()
    }

    async fn documents_of(&self, iin: &Iin) -> StoreResult<Vec<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents WHERE holder = $1 ORDER BY issued_on DESC, number",
            codec::DOCUMENT_COLUMNS
        );
        sqlx::query(&sql)
            .bind(iin.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(codec::document)
            .collect()
    }

    async fn document(
        &self,
        kind: DocumentKind,
        number: &str,
    ) -> StoreResult<Option<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents WHERE kind = $1 AND number = $2",
            codec::DOCUMENT_COLUMNS
        );
        let record = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::document(&r))
            .transpose()?;
        if record.is_some() {
            return Ok(record);
        }
        let people = sqlx::query(
            "SELECT data FROM people WHERE (data -> 'document' ->> 'number') = $1 LIMIT 2",
        )
        .bind(number)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(codec::person)
        .collect::<StoreResult<Vec<Person>>>()?;
        Ok(people
            .iter()
            .find(|p| p.document.kind == kind)
            .map(codec::register_document))
    }

    async fn register_photo(&self, iin: &Iin) -> StoreResult<Option<RegisterPhoto>> {
        sqlx::query(sql::REGISTER_PHOTO)
            .bind(iin.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::register_photo(&r))
            .transpose()
    }

    async fn register_photo_number(&self, iin: &Iin) -> StoreResult<Option<String>> {
        sqlx::query_scalar(sql::REGISTER_PHOTO_NUMBER)
            .bind(iin.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)
    }
}
