//! Cross-site request forgery protection for the portal's forms.
//!
//! Each browser gets a random `kuelik_csrf` cookie (HttpOnly, SameSite=Strict); every form
//! carries `HMAC(server key, cookie)` in a hidden field. Another site can make a browser
//! send the cookie but can neither read it nor compute the field, so a forged form post is
//! refused. Browsers' `Sec-Fetch-Site: cross-site` is refused outright as a second line.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const COOKIE: &str = "kuelik_csrf";
/// The hidden form field.
pub const FIELD: &str = "csrf";

/// The form token for a browser's cookie value.
pub fn token(key: &[u8; 32], cookie: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    // Domain-separated from the other uses of the key (one-time-code hashes).
    mac.update(b"kuelik portal csrf\0");
    mac.update(cookie.as_bytes());
    kuelik_core::hex::encode(&mac.finalize().into_bytes())
}

/// Whether a submitted form token matches the browser's cookie.
pub fn valid(key: &[u8; 32], cookie: Option<&str>, submitted: Option<&str>) -> bool {
    let (Some(cookie), Some(submitted)) = (cookie, submitted) else {
        return false;
    };
    if cookie.len() < 32 {
        return false;
    }
    let expected = token(key, cookie);
    expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_of_this_cookie_under_this_key_is_valid() {
        let key = [7u8; 32];
        let cookie = "0123456789abcdef0123456789abcdef";
        let good = token(&key, cookie);
        assert!(valid(&key, Some(cookie), Some(&good)));
        assert!(!valid(&[8u8; 32], Some(cookie), Some(&good)));
        assert!(!valid(
            &key,
            Some("fedcba9876543210fedcba9876543210"),
            Some(&good)
        ));
        assert!(!valid(&key, Some(cookie), Some(&good[1..])));
        assert!(!valid(&key, Some(cookie), None));
        assert!(!valid(&key, None, Some(&good)));
        // A short (attacker-planted) cookie is never accepted.
        assert!(!valid(&key, Some("x"), Some(&token(&key, "x"))));
    }
}
