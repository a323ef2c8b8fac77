"""The lexical scanner: count over-represented openers, closers, phrases and structure, exactly, for free.

    findings = lexical_findings(project, "sft", reference="baseline")    # ranked, for display
    report = discover_lexical(ctx, reference="baseline")                  # the same, saved as patterns

Beside the LLM scan (`scan.py`), which finds subtle patterns at the price of calls, this counts
what can be counted, in DuckDB over the stored rows (no Python loop per row, no model call).
It reads each row's *answer* (a transcript's last assistant turn, a document's text; see
`formats.assistant_text_sql`) as lower-case words, and counts in how many rows (document
frequency) each of these occurs:

* openers and closers: the first and the last 1..`max_phrase_words` words;
* n-grams: every run of `ngram_sizes` consecutive words;
* structure features: headings, bullet and numbered lists, bold, a final question, length
  buckets and more (`lexical_rules.FEATURES`).

A candidate needs `min_rows` rows and a `min_share` of them. Without a reference corpus, they
rank by document frequency. With one (another stored dataset, e.g. the baseline data), by
over-representation against it: the log-odds ratio of a row having the feature, target against
reference, with an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008, "Fightin' Words",
here over the two outcomes present/absent per feature, i.e. a Beta prior centred on the pooled
rate with `prior` rows' weight, plus half a row to each side so every term stays finite), divided
by its standard error: a z-score that must reach `min_z`. So a phrase common in both corpora
scores near zero however frequent it is.

A shorter phrase is dropped for a longer one that contains it and is found in at least `absorb`
of its rows ("Bottom line" survives, "Bottom" does not); an n-gram is also dropped for an
opener or closer that contains it, which says more. The best `top_k` of each kind are kept.

Each kept finding becomes an audit pattern (origin `lexical`) whose rule rates it in SQL
(`lexical_rules.py`, `rate.rate_rows`), so its prevalence, filter and model-output rates come
out of the same tables as an LLM pattern's. Lexical patterns live in the audit of the dataset
(the audit's identity is its dataset and LLM scan settings, not these): each discovery makes the
audit's active lexical patterns exactly its findings, marking earlier ones it no longer finds
`not_found`, so changing the settings or the reference replaces them rather than piling up. A
pattern a person removed stays removed, however often discovery finds it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from workbench.audit.audits import AuditContext
from workbench.audit.datasets import AuditDataset, get_dataset
from workbench.audit.lexical_rules import (
    FEATURES,
    FeatureRule,
    PhraseRule,
    analysed_rows_sql,
    rule_criteria,
    rule_json,
)
from workbench.config_stages import LexicalConfig
from workbench.errors import WorkbenchError
from workbench.generate.steps import StepReport, stable_id
from workbench.project import Project
from workbench.store.transitions import Move, move_rows

Kind = Literal["opener", "closer", "ngram", "feature"]


@dataclass(frozen=True)
class LexicalSettings:
    """How the lexical scanner counts and what it keeps (the `[audit]` lexical settings).

    Attributes:
        max_phrase_words: Openers and closers of 1 to this many words are counted.
        ngram_sizes: The lengths of the word n-grams counted anywhere in the answer.
        top_k: Findings kept per kind (opener, closer, n-gram, feature).
        min_rows: A finding must occur in at least this many rows.
        min_share: ... and in at least this share of the rows (its document frequency).
        min_z: With a reference corpus, the least log-odds z-score a finding must reach.
        prior: The weight, in rows, of the prior centred on the pooled rate (with a reference).
        absorb: A phrase is dropped for a longer one containing it found in this share of its rows.
    """

    max_phrase_words: int = 5
    ngram_sizes: tuple[int, ...] = (3, 4)
    top_k: int = 10
    min_rows: int = 5
    min_share: float = 0.05
    min_z: float = 3.0
    prior: float = 10.0
    absorb: float = 0.9

    @classmethod
    def from_config(cls, config: LexicalConfig) -> LexicalSettings:
        """The settings of a project's `[audit.lexical]` section."""
        values = config.model_dump()
        return cls(**values | {"ngram_sizes": tuple(values["ngram_sizes"])})

    def __post_init__(self) -> None:
        problems = [
            name for name, ok in (
                ("max_phrase_words", self.max_phrase_words >= 1), ("top_k", self.top_k >= 1),
                ("ngram_sizes", all(n >= 1 for n in self.ngram_sizes)), ("min_rows", self.min_rows >= 1),
                ("min_share", 0 <= self.min_share <= 1), ("prior", self.prior >= 0), ("absorb", 0 < self.absorb <= 1),
            ) if not ok
        ]  # fmt: skip
        if problems:
            raise WorkbenchError(
                f"Invalid lexical settings: {', '.join(problems)}.",
                hint="Word counts, top_k and min_rows are at least 1; min_share and absorb are shares (0-1]; "
                "prior is not negative.",
            )


@dataclass(frozen=True)
class LexicalFinding:
    """One over-represented opener, closer, n-gram or structure feature.

    Attributes:
        kind: opener, closer, ngram or feature.
        text: The phrase (lower-case words) or the feature's name.
        rows: Rows of the dataset where it occurs (strictly, see `lexical_rules`).
        share: rows / the dataset's rows: its document frequency.
        reference_rows: Rows of the reference corpus where it occurs (None without a reference).
        reference_share: Its document frequency there (None without a reference).
        score: What it was ranked by: its log-odds z-score with a reference, else `share`.
        rule: The rule that rates it.
    """

    kind: Kind
    text: str
    rows: int
    share: float
    reference_rows: int | None
    reference_share: float | None
    score: float
    rule: PhraseRule | FeatureRule


def _phrase_counts_sql(table: str, settings: LexicalSettings) -> tuple[str, list[Any]]:
    """Rows per (kind, words, phrase) in `table` (columns row, words): openers, closers, n-grams."""
    ends = "unnest(range(1, least(len(words), ?) + 1))"
    sql = (
        "SELECT kind, n, phrase, count(*) AS rows FROM ("
        f" SELECT 'opener' AS kind, k AS n, array_to_string(words[1:k], ' ') AS phrase, row"
        f"  FROM (SELECT row, words, {ends} AS k FROM {table})"
        " UNION ALL"
        f" SELECT 'closer', k, array_to_string(words[len(words) - k + 1:], ' '), row"
        f"  FROM (SELECT row, words, {ends} AS k FROM {table})"
        " UNION ALL"
        " SELECT DISTINCT 'ngram', n, array_to_string(words[i:i + n - 1], ' '), row FROM ("
        "  SELECT row, words, n, unnest(range(1, len(words) - n + 2)) AS i"
        f"  FROM (SELECT row, words, unnest(?::INTEGER[]) AS n FROM {table}))"
        ") GROUP BY ALL HAVING count(*) >= ?"
    )
    return sql, [settings.max_phrase_words, settings.max_phrase_words, list(settings.ngram_sizes)]


def _feature_counts_sql(table: str) -> str:
    """One row per feature: ('feature', 0, name, rows where its strict test holds)."""
    counts = ", ".join(f"count(*) FILTER (WHERE {f.strict_sql}) AS {name}" for name, f in FEATURES.items())
    return f"UNPIVOT (SELECT {counts} FROM {table}) ON COLUMNS(*) INTO NAME phrase VALUE rows"


def _count(con: duckdb.DuckDBPyConnection, dataset: AuditDataset, table: str, settings: LexicalSettings,
           min_rows: int) -> None:  # fmt: skip
    """Analyse the dataset's rows into temp table `table`, and its counts into `{table}_counts`."""
    source = "(SELECT position AS row, text FROM audit_rows WHERE dataset_id = ?)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS " + analysed_rows_sql(source, "row"), [dataset.id])
    phrases, params = _phrase_counts_sql(table, settings)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}_counts AS {phrases}"
        f" UNION ALL SELECT 'feature', 0, phrase, rows FROM ({_feature_counts_sql(table)}) WHERE rows >= ?",
        [*params, min_rows, min_rows],
    )


# Log-odds of presence, target against reference, with a Beta(a, b) prior centred on the pooled
# rate (weight $prior rows, plus half a row each side); z = the log-odds ratio / its standard error.
_Z = """(ln((t.rows + a) / ($n - t.rows + b)) - ln((ref_rows + a) / ($m - ref_rows + b)))
     / sqrt(1 / (t.rows + a) + 1 / ($n - t.rows + b) + 1 / (ref_rows + a) + 1 / ($m - ref_rows + b))"""

# A shorter phrase gives way to a longer one containing it (an opener to a longer opener, a
# closer to a longer closer, an n-gram to anything containing it) found in `absorb` of its rows.
_ABSORBED = """EXISTS (SELECT 1 FROM passed d WHERE d.rows >= $absorb * c.rows AND (
    (c.kind = 'opener' AND d.kind = 'opener' AND d.n > c.n AND starts_with(d.phrase || ' ', c.phrase || ' '))
 OR (c.kind = 'closer' AND d.kind = 'closer' AND d.n > c.n AND ends_with(' ' || d.phrase, ' ' || c.phrase))
 OR (c.kind = 'ngram' AND d.kind <> 'feature' AND (d.n > c.n OR d.kind <> 'ngram')
     AND contains(' ' || d.phrase || ' ', ' ' || c.phrase || ' '))))"""


def _ranked(con: duckdb.DuckDBPyConnection, n: int, m: int | None, settings: LexicalSettings) -> list[tuple[Any, ...]]:
    """(kind, phrase, rows, reference rows, score), best first, from the temp count tables."""
    with_reference = m is not None
    joined = (
        "SELECT t.*, coalesce(r.rows, 0) AS ref_rows FROM target_counts t"
        " LEFT JOIN reference_counts r USING (kind, n, phrase)"
        if with_reference
        else "SELECT t.*, NULL::BIGINT AS ref_rows FROM target_counts t"
    )
    if with_reference:
        pooled = "$prior * (t.rows + ref_rows) / ($n + $m)"
        joined = f"SELECT *, 0.5 + {pooled} AS a, 0.5 + $prior - {pooled} AS b FROM ({joined}) t"
    sql = f"""
        WITH scored AS (
            SELECT t.kind, t.n, t.phrase, t.rows, ref_rows, {_Z if with_reference else "t.rows / $n"} AS score
            FROM ({joined}) t
            WHERE t.rows >= $min_rows AND t.rows >= $min_share * $n),
        passed AS (SELECT * FROM scored WHERE {"score >= $min_z" if with_reference else "true"}),
        kept AS (SELECT * FROM passed c WHERE NOT {_ABSORBED})
        SELECT kind, phrase, rows, ref_rows, score FROM kept
        QUALIFY row_number() OVER (PARTITION BY kind ORDER BY score DESC, n DESC, phrase) <= $top_k
        ORDER BY score DESC, kind, n DESC, phrase"""
    params: dict[str, Any] = {"n": n, "min_rows": settings.min_rows, "min_share": settings.min_share,
                              "absorb": settings.absorb, "top_k": settings.top_k}  # fmt: skip
    if with_reference:
        params |= {"m": m, "prior": settings.prior, "min_z": settings.min_z}
    return con.execute(sql, params).fetchall()


def _rule(kind: str, phrase: str) -> PhraseRule | FeatureRule:
    if kind == "feature":
        return FeatureRule(type="feature", feature=phrase)
    return PhraseRule(type=kind, words=tuple(phrase.split(" ")))


def lexical_findings(
    project: Project, dataset_ref: str, *, reference: str | None = None, settings: LexicalSettings | None = None
) -> list[LexicalFinding]:
    """The dataset's over-represented openers, closers, n-grams and features, best first.

    Args:
        project: The project.
        dataset_ref: The dataset to scan: name, id or id prefix.
        reference: A dataset to compare against (e.g. the baseline data); None ranks by frequency.
        settings: What to count and keep (default: the project's `[audit.lexical]`).

    Raises:
        WorkbenchError: an unknown dataset, or invalid settings.
    """
    settings = settings or LexicalSettings.from_config(project.config.audit.lexical)
    dataset = get_dataset(project, dataset_ref)
    against = get_dataset(project, reference) if reference is not None else None
    tables = ["target", "target_counts", "reference", "reference_counts"]
    with project.store.connect() as con:
        try:
            _count(con, dataset, "target", settings, settings.min_rows)
            if against is not None:
                _count(con, against, "reference", settings, 1)  # every count: a target phrase may be rare there
            found = _ranked(con, dataset.row_count, against.row_count if against else None, settings)
        finally:
            for table in tables:
                con.execute(f"DROP TABLE IF EXISTS {table}")
    return [
        LexicalFinding(
            kind=kind, text=phrase, rows=rows, share=rows / dataset.row_count, reference_rows=ref_rows,
            reference_share=None if against is None else ref_rows / against.row_count, score=float(score),
            rule=_rule(kind, phrase),
        )
        for kind, phrase, rows, ref_rows, score in found
    ]  # fmt: skip


def finding_table(findings: list[LexicalFinding]) -> list[dict[str, Any]]:
    """The findings as table rows for display (the CLI, the notebook)."""
    return [
        {"kind": f.kind, "finding": rule_criteria(f.rule).name, "rows": f.rows, "share": f.share,
         "reference rows": f.reference_rows, "reference share": f.reference_share, "score": f.score}
        for f in findings
    ]  # fmt: skip


def _description(finding: LexicalFinding, dataset: AuditDataset, reference: AuditDataset | None) -> str:
    found = f"Counted by the lexical scanner in {finding.rows} of {dataset.row_count} rows ({finding.share:.1%})"
    if reference is None or finding.reference_share is None:
        return found + "."
    return (
        f"{found}, against {finding.reference_rows} of {reference.row_count} ({finding.reference_share:.1%}) "
        f"in the reference '{reference.name}': log-odds z = {finding.score:.1f}."
    )


_RETIRE = {"active", "not_found"}  # the two statuses discovery moves between


def save_lexical_patterns(
    con: duckdb.DuckDBPyConnection, audit_id: str, findings: list[LexicalFinding], dataset: AuditDataset,
    reference: AuditDataset | None,
) -> int:  # fmt: skip
    """Make the audit's active lexical patterns exactly `findings` (but for those a person removed).

    Returns how many earlier ones were no longer found.
    """
    ids = []
    for finding in findings:
        criteria = rule_criteria(finding.rule)
        pattern_id = stable_id(audit_id, "lexical", rule_json(finding.rule))
        ids.append(pattern_id)
        con.execute(
            "INSERT INTO audit_patterns (id, audit_id, name, description, kind, broad, strict, origin, scans,"
            " candidate_ids, status, rule, score) VALUES (?, ?, ?, ?, ?, ?, ?, 'lexical', '[]', '[]', 'active', ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,"
            " kind = excluded.kind, broad = excluded.broad, strict = excluded.strict,"
            " rule = excluded.rule, score = excluded.score, updated_at = now()",
            [pattern_id, audit_id, criteria.name, _description(finding, dataset, reference), criteria.kind,
             criteria.broad, criteria.strict, rule_json(finding.rule), finding.score],
        )  # fmt: skip
    statuses = con.execute(
        "SELECT id, status FROM audit_patterns WHERE audit_id = ? AND origin = 'lexical'", [audit_id]
    ).fetchall()
    # Discovery's own `not_found` comes back to life when found again; a person's `removed` is final
    # (neither move applies to it).
    wanted = {pattern_id: "active" if pattern_id in set(ids) else "not_found" for pattern_id, _ in statuses}
    moves = [Move(i, read=status, status=wanted[i]) for i, status in statuses if {status, wanted[i]} == _RETIRE]
    moved = move_rows(con, "audit_patterns", moves)
    return sum(1 for m in moves if m.status == "not_found" and m.id in moved)


def discover_lexical(
    ctx: AuditContext, *, reference: str | None = None, settings: LexicalSettings | None = None,
    found: list[LexicalFinding] | None = None,
) -> StepReport:  # fmt: skip
    """Find the audit's dataset's lexical patterns and save them to the audit (no model call).

    `found`, if given, receives the findings, best first (so a caller can show them without
    counting the dataset a second time).
    """
    findings = lexical_findings(ctx.project, ctx.dataset.id, reference=reference, settings=settings)
    if found is not None:
        found.extend(findings)
    against = get_dataset(ctx.project, reference) if reference is not None else None
    with ctx.project.store.transaction() as con:
        removed = save_lexical_patterns(con, ctx.audit.id, findings, ctx.dataset, against)
    report = StepReport("lexical")
    report.count("patterns", len(findings))
    if removed:
        report.count("no_longer_found", removed)
    return report
