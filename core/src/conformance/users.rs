//! Checks of a [`UserStore`]: the right password gives a known subject, anything else
//! nothing.

use super::{ALICE, BOB, Harness, ok, open};
use crate::storage::UserStore;

/// The right password gives the user's subject, which the store then knows.
pub async fn the_right_password_authenticates<H: Harness>(harness: &H)
where
    H::Store: UserStore,
{
    let store = open(harness).await;
    let mut subjects = Vec::new();
    for (username, password) in [ALICE, BOB] {
        let Some(subject) = ok("authenticate", store.authenticate(username, password).await) else {
            panic!("{username} with the right password must authenticate");
        };
        assert!(ok("user_exists", store.user_exists(&subject).await), "the subject {subject:?} must exist");
        subjects.push(subject);
    }
    assert_ne!(subjects[0], subjects[1], "two users must have two subjects");
}

/// A wrong password, an empty one, or another user's gives nothing.
pub async fn a_wrong_password_is_refused<H: Harness>(harness: &H)
where
    H::Store: UserStore,
{
    let store = open(harness).await;
    let (alice, password) = ALICE;
    for wrong in ["", "wonderlan", "wonderland ", "WONDERLAND", BOB.1] {
        assert_eq!(
            ok("authenticate", store.authenticate(alice, wrong).await),
            None,
            "password {wrong:?} must be refused"
        );
    }
    assert!(ok("authenticate", store.authenticate(alice, password).await).is_some());
}

/// An unknown username gives nothing, with any password, and names no subject.
pub async fn an_unknown_user_is_refused<H: Harness>(harness: &H)
where
    H::Store: UserStore,
{
    let store = open(harness).await;
    for (username, password) in [("mallory", "wonderland"), ("", ""), ("ALICE", ALICE.1), ("alice ", ALICE.1)] {
        assert_eq!(
            ok("authenticate", store.authenticate(username, password).await),
            None,
            "user {username:?} is unknown"
        );
    }
    for subject in ["mallory", "", "ALICE"] {
        assert!(!ok("user_exists", store.user_exists(subject).await), "subject {subject:?} must not exist");
    }
}
