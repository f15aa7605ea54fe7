-- Schema v16: which Markdown extensions rendered a post.
--
-- `markup` lists the fenced-block syntaxes of a post and who rendered them,
-- sorted: `|poll=polls@1.2.0|rust=|` (an extension rendered the `poll`
-- blocks; `rust` blocks are shown as code). NULL: rendered before this
-- record existed. After an extension changes, the posts to render again
-- are those whose record differs from what would be rendered now (see
-- `Forum::rerender_markup`).
ALTER TABLE posts ADD COLUMN markup TEXT;
