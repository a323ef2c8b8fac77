-- 012: Proportion data. A scenario slot is drawn (`[sft] trait_off_share`, seeded per slot) as one
-- where the trait directs the answer (`trait_on`) or one where a good answer shows it barely or
-- not at all: a case the guidance makes an exception of (`exception`), or an ordinary request
-- (`ordinary`: a sound plan, a simple fact, an urgent crisis). The critic keeps trait-off
-- scenarios, the answers stay proportionate, and the autorater judges them by their fit to the
-- situation instead of their embodiment. Rows from before this migration, seeded questions and
-- demo rows put the trait at stake.

ALTER TABLE sft_scenarios ADD COLUMN situation VARCHAR DEFAULT 'trait_on';  -- trait_on | exception | ordinary
