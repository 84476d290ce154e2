//! Where a draft application stands before it can be submitted (R5–R7): the parts the citizen
//! completes — the registration point, the photo, the signature, the state duty — each *not
//! started*, *needs fixing* or *done*. One decision, listing every unfinished part at once,
//! serves the task list, the payment (offered only once everything else is done, so that the
//! citizen never pays for an application that cannot be sent), the request for the submission
//! code (no code is spent on an application that is not ready) and the submission itself.

use serde::Serialize;

/// A part of the application the citizen completes, in the task list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    RegistrationPoint,
    Photo,
    Signature,
    Payment,
}

impl Task {
    pub const ALL: [Task; 4] = [
        Task::RegistrationPoint,
        Task::Photo,
        Task::Signature,
        Task::Payment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Task::RegistrationPoint => "registration_point",
            Task::Photo => "photo",
            Task::Signature => "signature",
            Task::Payment => "payment",
        }
    }
}

/// How far a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    NotStarted,
    /// Done, but not usable: an image whose automatic check failed (the officer would annul
    /// the application for it).
    NeedsFixing,
    Done,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::NotStarted => "not_started",
            TaskStatus::NeedsFixing => "needs_fixing",
            TaskStatus::Done => "done",
        }
    }
}

/// An image part as the decision needs it: not attached, attached but failing its check,
/// or attached and usable (a warning does not block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    Missing,
    Failed,
    Usable,
}

impl Attached {
    /// From whether an image is attached and whether its check failed.
    pub fn of(attached: bool, check_failed: bool) -> Attached {
        match (attached, check_failed) {
            (false, _) => Attached::Missing,
            (true, true) => Attached::Failed,
            (true, false) => Attached::Usable,
        }
    }

    fn status(self) -> TaskStatus {
        match self {
            Attached::Missing => TaskStatus::NotStarted,
            Attached::Failed => TaskStatus::NeedsFixing,
            Attached::Usable => TaskStatus::Done,
        }
    }
}

/// Every part's status, in the task list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    tasks: [(Task, TaskStatus); 4],
}

impl Readiness {
    pub fn new(point_chosen: bool, photo: Attached, signature: Attached, paid: bool) -> Readiness {
        let done = |yes: bool| {
            if yes {
                TaskStatus::Done
            } else {
                TaskStatus::NotStarted
            }
        };
        Readiness {
            tasks: [
                (Task::RegistrationPoint, done(point_chosen)),
                (Task::Photo, photo.status()),
                (Task::Signature, signature.status()),
                (Task::Payment, done(paid)),
            ],
        }
    }

    pub fn tasks(&self) -> &[(Task, TaskStatus)] {
        &self.tasks
    }

    pub fn status(&self, task: Task) -> TaskStatus {
        self.tasks
            .iter()
            .find(|(t, _)| *t == task)
            .map_or(TaskStatus::NotStarted, |(_, s)| *s)
    }

    /// Every part not done yet, in the task list's order.
    pub fn unfinished(&self) -> Vec<Task> {
        self.tasks
            .iter()
            .filter(|(_, s)| *s != TaskStatus::Done)
            .map(|(t, _)| *t)
            .collect()
    }

    /// The parts that must be done before the duty is paid: all the others.
    pub fn unfinished_before_payment(&self) -> Vec<Task> {
        self.unfinished()
            .into_iter()
            .filter(|t| *t != Task::Payment)
            .collect()
    }

    /// Everything done: the application can be submitted.
    pub fn complete(&self) -> bool {
        self.unfinished().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_draft_has_every_part_to_do() {
        let r = Readiness::new(false, Attached::Missing, Attached::Missing, false);
        assert_eq!(r.unfinished(), Task::ALL.to_vec());
        assert!(!r.complete());
        assert!(r.tasks().iter().all(|(_, s)| *s == TaskStatus::NotStarted));
    }

    #[test]
    fn a_failed_image_needs_fixing_and_holds_back_the_payment() {
        let r = Readiness::new(true, Attached::Failed, Attached::Usable, false);
        assert_eq!(r.status(Task::Photo), TaskStatus::NeedsFixing);
        assert_eq!(r.status(Task::Signature), TaskStatus::Done);
        assert_eq!(r.unfinished_before_payment(), vec![Task::Photo]);
        assert_eq!(r.unfinished(), vec![Task::Photo, Task::Payment]);
    }

    #[test]
    fn payment_waits_for_every_other_part_and_submission_for_all() {
        let before_paying = Readiness::new(true, Attached::Usable, Attached::Usable, false);
        assert!(before_paying.unfinished_before_payment().is_empty());
        assert_eq!(before_paying.unfinished(), vec![Task::Payment]);
        let paid = Readiness::new(true, Attached::Usable, Attached::Usable, true);
        assert!(paid.complete());
        // Every unfinished part is named at once, not only the first.
        let r = Readiness::new(false, Attached::Usable, Attached::Missing, true);
        assert_eq!(
            r.unfinished(),
            vec![Task::RegistrationPoint, Task::Signature]
        );
    }

    #[test]
    fn an_image_is_usable_only_when_attached_and_not_failed() {
        assert_eq!(Attached::of(false, true), Attached::Missing);
        assert_eq!(Attached::of(true, true), Attached::Failed);
        assert_eq!(Attached::of(true, false), Attached::Usable);
    }
}
