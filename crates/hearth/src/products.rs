//! The product catalogue of a community: products (SKU, name, URL, image),
//! posts tagged with the products they are about, the community content
//! per product, and outbound product-link clicks counted for conversion
//! tracking.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::to_millis;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, PostId, TopicId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, Viewer};
use crate::store::{OptionalExt, optional};
use crate::text::{check_len, check_name, check_url};
use crate::topic::{Topic, load_topics, post_state, topic_state};

/// Most products one post can be tagged with.
pub const MAX_PRODUCTS_PER_POST: usize = 10;

/// A product in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Its id.
    pub id: i64,
    /// The shop's stock-keeping unit: unique in the community.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Its page in the shop (where clicks go).
    pub url: String,
    /// A picture of it.
    pub image_url: Option<String>,
    /// A short description.
    pub description: String,
}

/// What [`Forum::create_product`] and [`Forum::update_product`] take.
#[derive(Debug, Clone, Default)]
pub struct NewProduct {
    /// 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub sku: String,
    /// 1 to 200 characters.
    pub name: String,
    /// An http(s) URL.
    pub url: String,
    /// An http(s) URL, or none.
    pub image_url: Option<String>,
    /// Up to 2,000 characters.
    pub description: String,
}

/// Clicks on one product's link in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductClicks {
    /// The product.
    pub product: Product,
    /// How many clicks.
    pub clicks: i64,
    /// How many different members clicked (guests not counted here).
    pub members: i64,
}

fn check_sku(sku: &str) -> Result<()> {
    if sku.is_empty()
        || sku.len() > 64
        || !sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(Error::invalid(
            "sku",
            "1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'",
        ));
    }
    Ok(())
}

fn check(new: &NewProduct) -> Result<()> {
    check_sku(&new.sku)?;
    check_name("name", new.name.trim(), 1, 200)?;
    check_url("url", &new.url)?;
    if let Some(i) = &new.image_url {
        check_url("image_url", i)?;
    }
    check_len("description", &new.description, 0, 2000)
}

const COLUMNS: &str = "id, sku, name, url, image_url, description";

fn row(r: &db::Row<'_>) -> db::Result<Product> {
    Ok(Product {
        id: r.get(0)?,
        sku: r.get(1)?,
        name: r.get(2)?,
        url: r.get(3)?,
        image_url: r.get(4)?,
        description: r.get(5)?,
    })
}

fn by_sku(conn: &Conn, community: CommunityId, sku: &str) -> Result<Product> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM products WHERE community_id = ?1 AND sku = ?2"
    ))?
    .query_row(params![community, sku], row)
    .found("product")
}

/// The catalogue is as visible as the community: members of a private
/// community, everyone for a public one.
fn can_browse(viewer: &Viewer) -> Result<()> {
    if viewer.system || viewer.role.is_some() || viewer.config.settings.public_access {
        Ok(())
    } else {
        Err(Error::not_found("product"))
    }
}

impl Forum {
    /// Adds a product (admins). A SKU already in the catalogue is a conflict.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("p.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// # let cat = forum.create_category(&Actor::User(ann), c,
    /// #     NewCategory::new("looks", "Looks", CategoryKind::Discussion))?.id;
    /// let ann = Actor::User(ann);
    /// forum.create_product(&ann, c, NewProduct {
    ///     sku: "LIP-042".into(), name: "Velvet Lip Tint".into(),
    ///     url: "https://shop.example.com/p/lip-042".into(), ..Default::default() })?;
    /// let (topic, post) = forum.create_topic(&ann, c, NewTopic { category: cat,
    ///     title: "My autumn look".into(), body: "Velvet tint, two coats.".into(), tags: vec![] })?;
    /// forum.tag_products(&ann, c, post.id, &["LIP-042"])?;
    /// let about = forum.product_topics(&Actor::Guest, c, "LIP-042", &PageRequest::first(10))?;
    /// assert_eq!(about.items[0].id, topic.id);
    /// let to = forum.record_product_click(&Actor::Guest, c, "LIP-042", Some(topic.id))?;
    /// assert_eq!(to, "https://shop.example.com/p/lip-042");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_product(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewProduct,
    ) -> Result<Product> {
        check(&new)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            if optional(
                w.tx.prepare_cached("SELECT id FROM products WHERE community_id = ?1 AND sku = ?2")?
                    .query_row(params![community, new.sku], |r| r.get::<_, i64>(0)),
            )?
            .is_some()
            {
                return Err(Error::conflict(format!("a product with SKU {} exists", new.sku)));
            }
            w.tx.prepare_cached(
                "INSERT INTO products (community_id, sku, name, url, image_url, description, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                community,
                new.sku,
                new.name.trim(),
                new.url,
                new.image_url,
                new.description.trim(),
                w.now_ms()
            ])?;
            by_sku(w.tx, community, &new.sku)
        })
    }

    /// Replaces a product's name, URL, image and description (admins; the
    /// SKU stays).
    pub fn update_product(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewProduct,
    ) -> Result<Product> {
        check(&new)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let p = by_sku(w.tx, community, &new.sku)?;
            w.tx.prepare_cached(
                "UPDATE products SET name = ?2, url = ?3, image_url = ?4, description = ?5 WHERE id = ?1",
            )?
            .execute(params![p.id, new.name.trim(), new.url, new.image_url, new.description.trim()])?;
            by_sku(w.tx, community, &new.sku)
        })
    }

    /// One product by SKU.
    pub fn product(&self, actor: &Actor, community: CommunityId, sku: &str) -> Result<Product> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            can_browse(&viewer)?;
            by_sku(conn, community, sku)
        })
    }

    /// The catalogue, by name.
    pub fn products(
        &self,
        actor: &Actor,
        community: CommunityId,
        page: &PageRequest,
    ) -> Result<Page<Product>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            can_browse(&viewer)?;
            // Catalogues are small: an offset cursor keeps the name order.
            let offset = match &page.after {
                Some(c) => c.parts::<1>()?[0].max(0),
                None => 0,
            };
            let limit = page.limit();
            let mut rows: Vec<Product> = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM products WHERE community_id = ?1
                     ORDER BY lower(name), id LIMIT ?2 OFFSET ?3"
                ))?
                .query_map(params![community, limit as i64 + 1, offset], row)?
                .collect::<db::Result<_>>()?;
            let next = (rows.len() > limit).then(|| {
                rows.truncate(limit);
                Cursor::from_parts(&[offset + limit as i64])
            });
            Ok(Page { items: rows, next })
        })
    }

    /// Tags a post with products (replacing its tags): its author or a
    /// moderator. Unknown SKUs are an error naming them.
    pub fn tag_products(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        skus: &[&str],
    ) -> Result<Vec<Product>> {
        if skus.len() > MAX_PRODUCTS_PER_POST {
            return Err(Error::invalid_as(
                "products",
                crate::error::Problem::TooMany {
                    max: MAX_PRODUCTS_PER_POST as u64,
                },
                format!("at most {MAX_PRODUCTS_PER_POST} products per post"),
            ));
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = post_state(w.tx, &viewer, post)?;
            if viewer.user != Some(state.author) && !viewer.is_moderator() {
                return Err(Error::forbidden(
                    "only the author or a moderator can tag this post",
                ));
            }
            let mut products = Vec::new();
            for sku in skus {
                let sku = sku.trim();
                match by_sku(w.tx, community, sku) {
                    Ok(p) => {
                        if !products.iter().any(|x: &Product| x.id == p.id) {
                            products.push(p);
                        }
                    }
                    Err(Error::NotFound { .. }) => {
                        return Err(Error::invalid(
                            "products",
                            format!("no product with SKU {sku:?}"),
                        ));
                    }
                    Err(e) => return Err(e),
                }
            }
            w.tx.prepare_cached("DELETE FROM post_products WHERE post_id = ?1")?
                .execute([post])?;
            for p in &products {
                w.tx.prepare_cached(
                    "INSERT INTO post_products (post_id, product_id, topic_id) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![post, p.id, state.topic.id])?;
            }
            Ok(products)
        })
    }

    /// The products a topic's posts are tagged with (readable posts only).
    pub fn topic_products(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<Vec<Product>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            topic_state(conn, &viewer, topic)?;
            Ok(conn
                .prepare_cached(
                    "SELECT DISTINCT pr.id, pr.sku, pr.name, pr.url, pr.image_url, pr.description
                     FROM post_products pp JOIN products pr ON pr.id = pp.product_id
                     JOIN posts p ON p.id = pp.post_id
                     WHERE pp.topic_id = ?1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL
                     ORDER BY pr.name",
                )?
                .query_map([topic], row)?
                .collect::<db::Result<_>>()?)
        })
    }

    /// The topics about a product that the actor may read, newest first.
    pub fn product_topics(
        &self,
        actor: &Actor,
        community: CommunityId,
        sku: &str,
        page: &PageRequest,
    ) -> Result<Page<Topic>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            can_browse(&viewer)?;
            let product = by_sku(conn, community, sku)?;
            let before = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => i64::MAX,
            };
            let limit = page.limit();
            let filter = format!(
                "t.id IN (SELECT pp.topic_id FROM post_products pp JOIN posts p ON p.id = pp.post_id
                          WHERE pp.product_id = ?1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL)
                 AND t.community_id = ?2 AND t.category_id IN {} AND t.deleted_at IS NULL
                 AND t.hidden_at IS NULL AND t.unlisted = 0 AND t.id < ?3
                 ORDER BY t.id DESC LIMIT ?4",
                viewer.readable_sql()
            );
            let rows = load_topics(
                conn,
                &filter,
                params![product.id, community, before, limit as i64 + 1],
            )?;
            Ok(Page::from_rows(rows, limit, |t: &Topic| {
                Cursor::from_parts(&[t.id.0])
            }))
        })
    }

    /// Counts a click on a product's link (from `topic`, if any) and
    /// returns where it goes. Anyone who can browse the catalogue.
    pub fn record_product_click(
        &self,
        actor: &Actor,
        community: CommunityId,
        sku: &str,
        topic: Option<TopicId>,
    ) -> Result<String> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            can_browse(&viewer)?;
            let p = by_sku(w.tx, community, sku)?;
            // A topic the clicker cannot read is not recorded as the source.
            let topic = topic.filter(|t| topic_state(w.tx, &viewer, *t).is_ok());
            w.tx.prepare_cached(
                "INSERT INTO product_clicks (community_id, product_id, user_id, topic_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![community, p.id, viewer.user, topic, w.now_ms()])?;
            Ok(p.url)
        })
    }

    /// Clicks per product in `[since, until)`, most first (moderators).
    pub fn product_clicks(
        &self,
        actor: &Actor,
        community: CommunityId,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<ProductClicks>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            viewer.require_moderator()?;
            let mut stmt = conn.prepare_cached(
                "SELECT pr.id, pr.sku, pr.name, pr.url, pr.image_url, pr.description,
                        count(*), count(DISTINCT c.user_id)
                 FROM product_clicks c JOIN products pr ON pr.id = c.product_id
                 WHERE c.community_id = ?1 AND c.created_at >= ?2 AND c.created_at < ?3
                 GROUP BY pr.id ORDER BY count(*) DESC, pr.name",
            )?;
            let rows = stmt.query_map(
                params![community, to_millis(since), to_millis(until)],
                |r| {
                    Ok(ProductClicks {
                        product: row(r)?,
                        clicks: r.get(6)?,
                        members: r.get(7)?,
                    })
                },
            )?;
            Ok(rows.collect::<db::Result<_>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_short_and_plain() {
        for ok in ["LIP-042", "sku_1.2", "A"] {
            assert!(check_sku(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "ümlaut", &"x".repeat(65), "a/b"] {
            assert!(check_sku(bad).is_err(), "{bad}");
        }
    }
}
