//! The population register's copy in SQLite: [`PeopleStore`].

use super::*;

#[async_trait]
impl PeopleStore for SqliteStore {
    async fn put_people(&self, people: &[Person]) -> StoreResult<u64> {
        let unique = codec::dedupe_people(people);
        let mut written = 0;
        let mut pending: Option<oneshot::Receiver<StoreResult<u64>>> = None;
        for chunk in unique.chunks(PEOPLE_PER_JOB) {
            // Encode this chunk while the writer stores the previous one.
            let rows = codec::person_rows(chunk)?;
            let next = self.submit(move |conn| upsert_people(conn, rows)).await?;
            if let Some(previous) = pending.replace(next) {
                written += previous.await.map_err(|_| writer_gone())??;
            }
        }
        if let Some(last) = pending {
            written += last.await.map_err(|_| writer_gone())??;
        }
        Ok(written)
    }

    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>> {
        self.lookup(|c| query_opt(c, sql::PERSON, [iin.to_string()], |r| codec::person(r)))
    }

    async fn count_people(&self) -> StoreResult<u64> {
        self.scan(|c| count_of(c, sql::COUNT_PEOPLE, [])).await
    }

    async fn people_to_remind(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        limit: u32,
    ) -> StoreResult<Vec<Person>> {
        let (from, to) = (from.to_string(), to.to_string());
        self.scan(move |c| {
            query_all(
                c,
                sql::PEOPLE_TO_REMIND,
                params![from, to, i64::from(limit)],
                |r| codec::person(r),
            )
        })
        .await
    }

    async fn reminder_opted_out(&self, iin: &Iin) -> StoreResult<bool> {
        let n = self.lookup(|c| count_of(c, sql::REMINDER_OPTED_OUT, [iin.to_string()]))?;
        Ok(n > 0)
    }

    async fn contact_details(&self, iin: &Iin) -> StoreResult<Option<ContactDetails>> {
        self.lookup(|c| {
            query_opt(c, sql::CONTACT_DETAILS, [iin.to_string()], |r| {
                codec::contact(r)
            })
        })
    }

    async fn documents_of(&self, iin: &Iin) -> StoreResult<Vec<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents WHERE holder = ? ORDER BY issued_on DESC, number",
            codec::DOCUMENT_COLUMNS
        );
        self.lookup(|c| query_all(c, &sql, [iin.to_string()], |r| codec::document(r)))
    }

    async fn document(
        &self,
        kind: DocumentKind,
        number: &str,
    ) -> StoreResult<Option<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents WHERE kind = ? AND number = ?",
            codec::DOCUMENT_COLUMNS
        );
        let params = [kind.as_str().to_string(), number.to_string()];
        if let Some(record) = self.lookup(|c| query_opt(c, &sql, params, |r| codec::document(r)))? {
            return Ok(Some(record));
        }
        let people = self.lookup(|c| {
            query_all(
                c,
                "SELECT data FROM people WHERE json_extract(data, '$.document.number') = ? \
                 LIMIT 2",
                [number.to_string()],
                |r| codec::person(r),
            )
        })?;
        Ok(people
            .iter()
            .find(|p| p.document.kind == kind)
            .map(codec::register_document))
    }

    async fn register_photo(&self, iin: &Iin) -> StoreResult<Option<RegisterPhoto>> {
        let iin = iin.to_string();
        self.lookup(move |c| query_opt(c, sql::REGISTER_PHOTO, [iin], |r| codec::register_photo(r)))
    }

    async fn register_photo_number(&self, iin: &Iin) -> StoreResult<Option<String>> {
        let iin = iin.to_string();
        self.lookup(move |c| query_opt(c, sql::REGISTER_PHOTO_NUMBER, [iin], |r| col(r, 0)))
    }
}
