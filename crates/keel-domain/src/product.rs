//! Products, their keys, and who holds which role in them.

use crate::error::{text, Invalid, ValidationError};
use crate::{ProductId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A product key: 2 to 10 capital letters or digits, starting with a letter (`SHOP`, `K8S`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductKey(String);

impl ProductKey {
    /// Parses a key; lower case is refused rather than silently upper-cased, so a key typed in
    /// a URL is exactly the key shown.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        let ok = (2..=10).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
            && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(ProductKey(s.to_string()))
        } else {
            Err(ValidationError::new(field, "must be 2-10 capital letters or digits, starting with a letter"))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value read back from the store.
    pub fn from_trusted(s: String) -> Self {
        ProductKey(s)
    }
}

impl fmt::Display for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// A product's name: 1 to 100 characters.
pub fn parse_product_name(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 1, 100, false)
}

/// A product's description: Markdown, at most 20,000 characters.
pub fn parse_product_description(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 0, 20_000, true)
}

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Its id.
    pub id: ProductId,
    /// Its key, the prefix of its items' keys; never changes.
    pub key: ProductKey,
    /// Its name.
    pub name: String,
    /// Markdown description.
    pub description: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// Bumped on every change, for optimistic concurrency.
    pub version: i64,
}

/// The roles a member can hold in a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Product Manager: why and what.
    Pm,
    /// Product Owner: how and when.
    Po,
    /// A member of a delivery team.
    Team,
    /// A stakeholder or customer: reads and sends feedback.
    Stakeholder,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 4] = [Role::Pm, Role::Po, Role::Team, Role::Stakeholder];

    /// The wire name (`pm`, `po`, `team`, `stakeholder`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pm => "pm",
            Role::Po => "po",
            Role::Team => "team",
            Role::Stakeholder => "stakeholder",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Pm => "Product Manager",
            Role::Po => "Product Owner",
            Role::Team => "Team",
            Role::Stakeholder => "Stakeholder",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be one of pm, po, team, stakeholder"))
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of roles, stored as a small bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "Vec<Role>", from = "Vec<Role>")]
pub struct Roles(u8);

impl Roles {
    /// No role: not a member.
    pub const NONE: Roles = Roles(0);

    /// The set holding exactly these roles.
    pub fn of(roles: &[Role]) -> Self {
        Roles(roles.iter().fold(0, |m, r| m | r.bit()))
    }

    /// Whether `role` is in the set.
    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in display order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }

    /// The bit mask, for storage.
    pub fn bits(self) -> i64 {
        self.0 as i64
    }

    /// From a stored bit mask; unknown bits are dropped.
    pub fn from_bits(bits: i64) -> Self {
        Roles((bits & 0x0f) as u8)
    }

    /// Parses a list of wire names; an empty list is refused (use removal instead).
    pub fn parse_list(field: &str, names: &[String]) -> Invalid<Self> {
        if names.is_empty() {
            return Err(ValidationError::new(field, "must name at least one role"));
        }
        let mut roles = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            roles.push(Role::parse(&format!("{field}[{i}]"), n)?);
        }
        Ok(Roles::of(&roles))
    }
}

impl From<Roles> for Vec<Role> {
    fn from(r: Roles) -> Self {
        r.iter().collect()
    }
}

impl From<Vec<Role>> for Roles {
    fn from(v: Vec<Role>) -> Self {
        Roles::of(&v)
    }
}

/// A user's membership in a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The product.
    pub product_id: ProductId,
    /// The member.
    pub user_id: UserId,
    /// The roles held; never empty.
    pub roles: Roles,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["SHOP", "AB", "K8S", "ABCDEFGHIJ"] {
            assert!(ProductKey::parse("key", ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "shop", "8K", "ABCDEFGHIJK", "SH-OP", "ÄB"] {
            assert!(ProductKey::parse("key", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_pad_in_tables() {
        assert_eq!(format!("{:<6}|", ProductKey::parse("k", "SHOP").unwrap()), "SHOP  |");
    }

    #[test]
    fn role_sets() {
        let r = Roles::of(&[Role::Pm, Role::Po]);
        assert!(r.has(Role::Pm) && r.has(Role::Po) && !r.has(Role::Team));
        assert_eq!(Roles::from_bits(r.bits()), r);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![Role::Pm, Role::Po]);
        assert!(Roles::parse_list("roles", &["pm".into(), "boss".into()]).unwrap_err().field == "roles[1]");
        assert!(Roles::parse_list("roles", &[]).is_err());
    }
}
