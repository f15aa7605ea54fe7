-- Schema v22: a number for each tag of a community.
--
-- Discourse's API names a topic's tags as objects with a numeric `id`
-- (`/t/{id}.json`, `/tags.json`); Hearth's tags were only names. A tag
-- gets its number the first time a topic of the community carries it and
-- keeps it (also when no topic carries it any more, so a number is never
-- given to another tag). Copies keep the numbers; imports number the
-- tags again, as they do every row.
CREATE TABLE tags (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    name          TEXT NOT NULL,
    UNIQUE (community_id, name)
);
INSERT INTO tags (community_id, name)
    SELECT t.community_id, g.tag FROM topic_tags g JOIN topics t ON t.id = g.topic_id
    WHERE true GROUP BY t.community_id, g.tag ORDER BY min(g.topic_id), g.tag;
