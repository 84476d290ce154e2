//! `TicketNumber::parse` on any text: never panics; what it accepts prints back to itself.
#![no_main]
use kuelik_core::ticket::TicketNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ticket) = TicketNumber::parse(text) {
        assert_eq!(TicketNumber::parse(&ticket.to_string()).ok(), Some(ticket));
        assert_eq!(TicketNumber::parse(&ticket.compact()).ok(), Some(ticket));
    }
});
