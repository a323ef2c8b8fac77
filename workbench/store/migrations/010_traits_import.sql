-- 010: Traits documents in the shapes that exist (model specs, numbered rules, constitutions,
-- universe contexts). A chunk may now be a `boundary` (a prohibition: guidance the generator
-- respects and the critic checks, never a trait to instil), carries the metadata its source gave
-- it, and a constitution's trait keeps its questions as seed user prompts.

-- {"anchor": "...", "rule": "SP1", ...}: kept out of titles and text.
ALTER TABLE version_chunks ADD COLUMN attrs JSON;
-- A constitution's questions for this trait; the SFT pipeline may use them as seed prompts.
ALTER TABLE version_chunks ADD COLUMN questions VARCHAR[];
-- The shape the text was read as (bullets, spec, rules, constitution, universe).
ALTER TABLE traits_versions ADD COLUMN format VARCHAR;
-- How it was read where that changes the chunks (forced format, trait level, selection,
-- placeholder values); '' for the default reading. Part of the version id.
ALTER TABLE traits_versions ADD COLUMN reading VARCHAR;
