//! The population register (ГБД ФЛ) as kuelik sees it: who a person is, their phone, their
//! address region, their current document and the documents the service changed. An
//! adapter, so that the national register can replace the local table without touching the
//! handlers.
//!
//! Reading is [`PopulationRegister`]. Telling the register what a hand-over changed (the new
//! document, the old one invalidated) is [`crate::register_sync`]: the change is committed
//! to the local copy with the hand-over and sent to the national register through the
//! outbox.

use std::sync::Arc;

use async_trait::async_trait;

use kuelik_core::document::DocumentKind;
use kuelik_core::iin::Iin;
use kuelik_core::issuance::DocumentRecord;
use kuelik_core::register::Person;
use kuelik_store::{RegisterPhoto, Store, StoreResult};

#[async_trait]
pub trait PopulationRegister: Send + Sync + 'static {
    /// The person with this IIN, if the register knows them.
    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>>;
    /// The records of a person's documents issued or invalidated by the service.
    async fn documents_of(&self, iin: &Iin) -> StoreResult<Vec<DocumentRecord>>;
    /// The photo of the person's current document, if the register has it.
    async fn document_photo(&self, iin: &Iin) -> StoreResult<Option<RegisterPhoto>>;
    /// The number of the document that photo is of (without fetching the image).
    async fn document_photo_number(&self, iin: &Iin) -> StoreResult<Option<String>>;
    /// A document by kind and number (recorded, or someone's current register document).
    async fn document(
        &self,
        kind: DocumentKind,
        number: &str,
    ) -> StoreResult<Option<DocumentRecord>>;
}

/// The embedded default: the `people` table (filled by `kuelik register import|generate`)
/// and the `documents` table the hand-overs write.
pub struct LocalRegister(pub Arc<dyn Store>);

#[async_trait]
impl PopulationRegister for LocalRegister {
    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>> {
        self.0.person(iin).await
    }

    async fn documents_of(&self, iin: &Iin) -> StoreResult<Vec<DocumentRecord>> {
        self.0.documents_of(iin).await
    }

    async fn document(
        &self,
        kind: DocumentKind,
        number: &str,
    ) -> StoreResult<Option<DocumentRecord>> {
        self.0.document(kind, number).await
    }

    async fn document_photo(&self, iin: &Iin) -> StoreResult<Option<RegisterPhoto>> {
        self.0.register_photo(iin).await
    }

    async fn document_photo_number(&self, iin: &Iin) -> StoreResult<Option<String>> {
        self.0.register_photo_number(iin).await
    }
}
