//! One-time codes, read the way a phone would: the server's SMS sender is replaced by one
//! that remembers the newest code per phone and wakes whoever waits for it.
//!
//! The demo inbox cannot serve here: it keeps the last 200 messages of all phones, and a
//! peak day sends tens of thousands.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use kuelik_server::notify::Sender;

#[derive(Default)]
struct Received {
    /// How many codes this phone has received so far.
    count: usize,
    code: String,
}

/// The SMS sender of the in-process server.
#[derive(Default)]
pub struct CodeBook {
    phones: Mutex<HashMap<String, Received>>,
    arrived: Notify,
}

impl CodeBook {
    /// How many codes `phone` has received (taken before asking for a new one, so an older
    /// code is never mistaken for the new one).
    pub fn received(&self, phone: &str) -> usize {
        self.phones
            .lock()
            .map(|p| p.get(phone).map_or(0, |r| r.count))
            .unwrap_or(0)
    }

    fn code_after(&self, phone: &str, before: usize) -> Option<String> {
        let phones = self.phones.lock().ok()?;
        let r = phones.get(phone)?;
        (r.count > before).then(|| r.code.clone())
    }

    /// The first code `phone` receives after it had received `before`; `None` after
    /// `patience` (the outbox worker delivers codes asynchronously).
    pub async fn wait_after(
        &self,
        phone: &str,
        before: usize,
        patience: Duration,
    ) -> Option<String> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            // Registered before the check, so a code that lands in between still wakes us.
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(code) = self.code_after(phone, before) {
                return Some(code);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.code_after(phone, before);
            }
        }
    }
}

#[async_trait]
impl Sender for CodeBook {
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), String> {
        // Code messages are signed `kuelik:` and carry six digits; notices are dropped.
        if !text.starts_with("kuelik:") {
            return Ok(());
        }
        let code: String = text.chars().filter(char::is_ascii_digit).collect();
        if code.len() != 6 {
            return Ok(());
        }
        if let Ok(mut phones) = self.phones.lock() {
            let r = phones.entry(to.to_string()).or_default();
            r.count += 1;
            r.code = code;
        }
        self.arrived.notify_waiters();
        Ok(())
    }
}
