-- Schema v5: notifications, watch levels and delivery preferences.
--
-- A notification is written in the same transaction as its cause (a reply,
-- a mention, a like, an accepted answer, a badge, a post in something the
-- member watches), at most once per member, post and kind. Readability is
-- checked again whenever notifications are read: a member who lost access
-- to a category no longer sees what was said there.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    kind          TEXT NOT NULL,
    actor_id      INTEGER REFERENCES users(id),
    topic_id      INTEGER REFERENCES topics(id),
    post_id       INTEGER REFERENCES posts(id),
    data          TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    read_at       INTEGER,
    -- 'pending' (to be e-mailed), 'sent', or 'none' (in-app only).
    email         TEXT NOT NULL DEFAULT 'none'
);
CREATE INDEX notifications_by_user ON notifications (user_id, community_id, id);
CREATE INDEX notifications_unread ON notifications (user_id, community_id) WHERE read_at IS NULL;
CREATE INDEX notifications_to_email ON notifications (community_id, user_id) WHERE email = 'pending';
CREATE UNIQUE INDEX notifications_once ON notifications (user_id, post_id, kind) WHERE post_id IS NOT NULL;

-- Watch levels (Discourse's numbers: 0 muted, 1 normal, 2 tracking,
-- 3 watching); a topic's level overrides its category's.
CREATE TABLE category_watches (
    user_id      INTEGER NOT NULL REFERENCES users(id),
    category_id  INTEGER NOT NULL REFERENCES categories(id),
    level        INTEGER NOT NULL,
    PRIMARY KEY (user_id, category_id)
) WITHOUT ROWID;
CREATE INDEX category_watches_by_category ON category_watches (category_id, level);

CREATE TABLE topic_watches (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    topic_id  INTEGER NOT NULL REFERENCES topics(id),
    level     INTEGER NOT NULL,
    PRIMARY KEY (user_id, topic_id)
) WITHOUT ROWID;
CREATE INDEX topic_watches_by_topic ON topic_watches (topic_id, level);

-- How a member wants each kind of notification: 'in_app', 'email', 'off'.
CREATE TABLE notification_prefs (
    user_id       INTEGER NOT NULL REFERENCES users(id),
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    kind          TEXT NOT NULL,
    delivery      TEXT NOT NULL,
    PRIMARY KEY (user_id, community_id, kind)
) WITHOUT ROWID;

-- Ideas: one vote per member per idea (withdrawable), and a status staff
-- set with a public note. A row appears with the first vote or status.
CREATE TABLE ideas (
    topic_id      INTEGER PRIMARY KEY REFERENCES topics(id),
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    vote_count    INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'open',
    note          TEXT NOT NULL DEFAULT '',
    status_by     INTEGER REFERENCES users(id),
    status_at     INTEGER
);
CREATE INDEX ideas_by_votes ON ideas (community_id, vote_count, topic_id);

CREATE TABLE idea_votes (
    topic_id    INTEGER NOT NULL REFERENCES topics(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (topic_id, user_id)
) WITHOUT ROWID;
CREATE INDEX idea_votes_by_user ON idea_votes (user_id);

-- Product catalogue: community content about products, and outbound
-- product-link clicks (conversion tracking for commerce communities).
CREATE TABLE products (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    sku           TEXT NOT NULL,
    name          TEXT NOT NULL,
    url           TEXT NOT NULL,
    image_url     TEXT,
    description   TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    UNIQUE (community_id, sku)
);

CREATE TABLE post_products (
    post_id     INTEGER NOT NULL REFERENCES posts(id),
    product_id  INTEGER NOT NULL REFERENCES products(id),
    topic_id    INTEGER NOT NULL REFERENCES topics(id),
    PRIMARY KEY (post_id, product_id)
) WITHOUT ROWID;
CREATE INDEX post_products_by_product ON post_products (product_id, topic_id);
CREATE INDEX post_products_by_topic ON post_products (topic_id);

CREATE TABLE product_clicks (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    product_id    INTEGER NOT NULL REFERENCES products(id),
    user_id       INTEGER REFERENCES users(id),
    topic_id      INTEGER REFERENCES topics(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX product_clicks_by_time ON product_clicks (community_id, created_at);

-- Ticket deflection: one row per composer visit (a token the composer
-- page makes), the suggestions it showed and the ones the member opened,
-- and how it ended: a topic posted, a support ticket, or neither.
CREATE TABLE composer_sessions (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    token         TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    opened_at     INTEGER,
    ticket_at     INTEGER,
    posted_at     INTEGER,
    posted_topic  INTEGER REFERENCES topics(id),
    UNIQUE (community_id, token)
);
CREATE INDEX composer_sessions_by_time ON composer_sessions (community_id, started_at);

CREATE TABLE composer_suggestions (
    session_id  INTEGER NOT NULL REFERENCES composer_sessions(id),
    topic_id    INTEGER NOT NULL REFERENCES topics(id),
    shown_at    INTEGER NOT NULL,
    opened_at   INTEGER,
    PRIMARY KEY (session_id, topic_id)
) WITHOUT ROWID;

-- Knowledge base: articles with every revision kept and at most one
-- published. A draft is not a topic: an article becomes a topic in its
-- knowledge-base category when first published, and later publications
-- edit that topic. "Was this helpful?" votes (one per member, changeable)
-- and search click-throughs feed the library's order.
CREATE TABLE kb_articles (
    id                  INTEGER PRIMARY KEY,
    community_id        INTEGER NOT NULL REFERENCES communities(id),
    category_id         INTEGER NOT NULL REFERENCES categories(id),
    topic_id            INTEGER UNIQUE REFERENCES topics(id),
    source_topic_id     INTEGER REFERENCES topics(id),
    created_by          INTEGER NOT NULL REFERENCES users(id),
    created_at          INTEGER NOT NULL,
    published_revision  INTEGER,
    published_at        INTEGER,
    helpful             INTEGER NOT NULL DEFAULT 0,
    not_helpful         INTEGER NOT NULL DEFAULT 0,
    search_clicks       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX kb_articles_by_category ON kb_articles (community_id, category_id);
CREATE INDEX kb_articles_by_source ON kb_articles (source_topic_id);

CREATE TABLE kb_revisions (
    article_id  INTEGER NOT NULL REFERENCES kb_articles(id),
    number      INTEGER NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    author_id   INTEGER NOT NULL REFERENCES users(id),
    note        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (article_id, number)
) WITHOUT ROWID;

CREATE TABLE kb_votes (
    article_id  INTEGER NOT NULL REFERENCES kb_articles(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    helpful     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (article_id, user_id)
) WITHOUT ROWID;

-- E-mail: an outbox written by idempotent jobs and drained by a Mailer.
-- (community, user, kind, period) is unique: each job sends a member at
-- most one e-mail per period however often it runs or restarts.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    kind          TEXT NOT NULL,
    period        TEXT NOT NULL,
    -- 'pending', 'sent', 'skipped' (nothing to say), 'suppressed'
    -- (unsubscribed or bounced before delivery), 'bounced', 'failed'.
    status        TEXT NOT NULL,
    to_address    TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    text_body     TEXT NOT NULL DEFAULT '',
    html_body     TEXT NOT NULL DEFAULT '',
    unsubscribe   TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    sent_at       INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    UNIQUE (community_id, user_id, kind, period)
);
CREATE INDEX outbox_pending ON outbox (community_id, id) WHERE status = 'pending';

-- A member's e-mail choices per community.
CREATE TABLE email_prefs (
    user_id          INTEGER NOT NULL REFERENCES users(id),
    community_id     INTEGER NOT NULL REFERENCES communities(id),
    digest           TEXT,
    unsubscribed_at  INTEGER,
    bounced_at       INTEGER,
    PRIMARY KEY (user_id, community_id)
) WITHOUT ROWID;

-- The key that signs unsubscribe links (one per database, made on first use).
CREATE TABLE secrets (
    name   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
) WITHOUT ROWID;

-- Analytics read the event log by kind and time.
CREATE INDEX events_by_kind_time ON events (community_id, kind, created_at, actor_id, subject_id, topic_id);
CREATE INDEX events_by_time ON events (community_id, created_at, actor_id);

-- Days a member did something themselves (visited, read, posted, liked),
-- as opposed to days they only received likes: activity for analytics
-- and for "we miss you".
ALTER TABLE member_days ADD COLUMN acted INTEGER NOT NULL DEFAULT 0;
UPDATE member_days SET acted = 1
 WHERE topics_entered + posts_read + likes_given + topics_replied_to > 0 OR likes_received = 0;
CREATE INDEX member_days_active ON member_days (community_id, day, user_id) WHERE acted = 1;
