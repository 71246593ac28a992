//! Typed ids. A `Uuid` never crosses a module edge bare; these wrappers say what it identifies.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($name:ident) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id, so that new rows land on the right edge of each index.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(CommunityId);
typed_id!(MemberId);
typed_id!(AccountId);
typed_id!(UserId);
typed_id!(JournalId);
typed_id!(GoodsId);
typed_id!(RedemptionId);
typed_id!(RuleId);
typed_id!(DeedId);
typed_id!(GrantId);
