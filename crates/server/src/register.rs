//! The population register (ГБД ФЛ) as kuelik sees it: who a person is, their phone, their
//! address region and their current document. An adapter, so that the national register
//! can replace the local table without touching the handlers.

use std::sync::Arc;

use async_trait::async_trait;

use kuelik_core::iin::Iin;
use kuelik_core::register::Person;
use kuelik_store::{Store, StoreResult};

#[async_trait]
pub trait PopulationRegister: Send + Sync + 'static {
    /// The person with this IIN, if the register knows them.
    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>>;
}

/// The embedded default: the `people` table, filled by `kuelik register import|generate`.
pub struct LocalRegister(pub Arc<dyn Store>);

#[async_trait]
impl PopulationRegister for LocalRegister {
    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>> {
        self.0.person(iin).await
    }
}
