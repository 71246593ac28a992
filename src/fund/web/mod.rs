//! The fund's console pages.
