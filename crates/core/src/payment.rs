//! The state-duty payment record as a small state machine (R13: the duty is paid with the
//! submission and refunded after an annulment or a withdrawal). The gateway's callbacks and
//! the application's end are the events; a callback that no longer applies (a repeat, or too
//! late) changes nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// An intent exists at the gateway; the citizen has not paid yet.
    Pending,
    /// The gateway confirmed the money arrived.
    Confirmed,
    /// The gateway reported the payment failed or was cancelled.
    Failed,
    /// The money must go back (the application ended early, or it could not take the
    /// payment); the refund is requested from the gateway.
    RefundPending,
    Refunded,
}

/// What happens to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    /// The gateway's callback: the money arrived.
    GatewayPaid,
    /// The gateway's callback: the payment failed or was cancelled.
    GatewayFailed,
    /// The money must be given back.
    RefundRequested,
    /// The gateway's callback: the refund was paid out.
    GatewayRefunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 5] = [
        PaymentStatus::Pending,
        PaymentStatus::Confirmed,
        PaymentStatus::Failed,
        PaymentStatus::RefundPending,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Confirmed => "confirmed",
            PaymentStatus::Failed => "failed",
            PaymentStatus::RefundPending => "refund_pending",
            PaymentStatus::Refunded => "refunded",
        }
    }

    /// The status after `event`, or `None` when the event does not apply to a payment in
    /// this status (nothing changes). A payment that failed may still arrive (the citizen
    /// retried at the gateway); only money that arrived is refunded.
    pub fn after(self, event: PaymentEvent) -> Option<PaymentStatus> {
        use PaymentEvent as E;
        use PaymentStatus as S;
        match (self, event) {
            (S::Pending | S::Failed, E::GatewayPaid) => Some(S::Confirmed),
            (S::Pending, E::GatewayFailed) => Some(S::Failed),
            (S::Confirmed, E::RefundRequested) => Some(S::RefundPending),
            (S::RefundPending, E::GatewayRefunded) => Some(S::Refunded),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentEvent as E;
    use PaymentStatus as S;

    #[test]
    fn every_arrow_of_the_payment_record() {
        let arrows = [
            (S::Pending, E::GatewayPaid, S::Confirmed),
            (S::Failed, E::GatewayPaid, S::Confirmed),
            (S::Pending, E::GatewayFailed, S::Failed),
            (S::Confirmed, E::RefundRequested, S::RefundPending),
            (S::RefundPending, E::GatewayRefunded, S::Refunded),
        ];
        for status in S::ALL {
            for event in [
                E::GatewayPaid,
                E::GatewayFailed,
                E::RefundRequested,
                E::GatewayRefunded,
            ] {
                let expected = arrows
                    .iter()
                    .find(|(s, e, _)| *s == status && *e == event)
                    .map(|(_, _, to)| *to);
                assert_eq!(status.after(event), expected, "{status:?} {event:?}");
            }
        }
        // Money is never taken twice nor refunded twice.
        assert_eq!(S::Confirmed.after(E::GatewayPaid), None);
        assert_eq!(S::Refunded.after(E::GatewayRefunded), None);
        assert_eq!(S::Pending.after(E::RefundRequested), None);
    }
}
