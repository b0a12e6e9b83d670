//! The product-facing queries: lookups, keyset paging, memberships, login resolution.
