//! Keyset pagination: every list is read with a cursor, never an OFFSET.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The largest page any list returns.
pub const MAX_PAGE: u32 = 100;

/// Which page of a list to read.
///
/// ```
/// use hearth::PageRequest;
/// let first = PageRequest::first(30);
/// assert_eq!(first.limit, 30);
/// assert!(first.after.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// The `next` cursor of the previous page; `None` for the first page.
    pub after: Option<Cursor>,
    /// How many items (1 to [`MAX_PAGE`]; 0 means the default of 30).
    pub limit: u32,
}

impl PageRequest {
    /// The first page with `limit` items.
    pub fn first(limit: u32) -> Self {
        PageRequest { after: None, limit }
    }

    /// The page after `cursor`.
    pub fn after(cursor: Cursor, limit: u32) -> Self {
        PageRequest {
            after: Some(cursor),
            limit,
        }
    }

    pub(crate) fn limit(&self) -> usize {
        match self.limit {
            0 => 30,
            n => n.min(MAX_PAGE) as usize,
        }
    }
}

/// An opaque position in a list. Pass it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

impl Cursor {
    pub(crate) fn from_parts(parts: &[i64]) -> Cursor {
        Cursor(
            parts
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join("."),
        )
    }

    pub(crate) fn parts<const N: usize>(&self) -> Result<[i64; N]> {
        let bad = || Error::invalid("cursor", "not a cursor returned by this list");
        let mut out = [0i64; N];
        let mut it = self.0.split('.');
        for slot in &mut out {
            *slot = it.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        }
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(out)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only
    /// tells that there is more.
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: usize, cursor: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(cursor) } else { None };
        Page { items: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let c = Cursor::from_parts(&[1, -2, 3]);
        assert_eq!(c.parts::<3>().ok(), Some([1, -2, 3]));
        assert!(c.parts::<2>().is_err());
        assert!(Cursor("x.y".into()).parts::<2>().is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(PageRequest::first(0).limit(), 30);
        assert_eq!(PageRequest::first(1000).limit(), 100);
    }
}
