-- Schema v3: storage for extensions (the plugin host and other add-ons).
--
-- Opaque key-value data owned by an extension `namespace`, per community
-- (community_id 0 holds an extension's process-wide records). The engine
-- never interprets it; exports include it.
CREATE TABLE extension_data (
    namespace     TEXT NOT NULL,
    community_id  INTEGER NOT NULL,
    key           TEXT NOT NULL,
    value         BLOB NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (namespace, community_id, key)
) WITHOUT ROWID;
