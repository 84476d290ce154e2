//! The population register's copy: people, their documents, the register's photos, reminders and
//! contact details.

use crate::*;

#[async_trait]
pub trait PeopleStore: Transactions {
    /// Inserts or replaces people by IIN; returns how many were written.
    async fn put_people(&self, people: &[Person]) -> StoreResult<u64>;
    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>>;
    async fn count_people(&self) -> StoreResult<u64>;
    /// The register's photo of the person's current document, if the register has one.
    async fn register_photo(&self, iin: &Iin) -> StoreResult<Option<RegisterPhoto>>;
    /// The number of the document that photo is of, without reading the image.
    async fn register_photo_number(&self, iin: &Iin) -> StoreResult<Option<String>>;
    /// People whose document's last valid day is in `[from, to]`, not yet reminded about
    /// that document, not opted out, and without a live application; oldest expiry first.
    async fn people_to_remind(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        limit: u32,
    ) -> StoreResult<Vec<Person>>;
    /// Stops (or restarts) reminders for a person (alone; with its audit entry, commit a
    /// [`Changes::reminder_choices`]).
    async fn set_reminder_opt_out(
        &self,
        iin: &Iin,
        opt_out: bool,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.commit(Changes {
            reminder_choices: vec![ReminderChoice {
                iin: *iin,
                opt_out,
                at: now,
            }],
            ..Changes::default()
        })
        .await
    }
    async fn reminder_opted_out(&self, iin: &Iin) -> StoreResult<bool>;
    /// The contact details a citizen set, if any.
    async fn contact_details(&self, iin: &Iin) -> StoreResult<Option<ContactDetails>>;
    /// The records kept of a person's documents (issued or invalidated here), newest first.
    async fn documents_of(&self, iin: &Iin) -> StoreResult<Vec<DocumentRecord>>;
    /// A document by kind and number: its record, else the register's current document of
    /// someone with that number (as a record with nothing changed).
    async fn document(
        &self,
        kind: DocumentKind,
        number: &str,
    ) -> StoreResult<Option<DocumentRecord>>;
}
