"""Consent coverage of an extract, validated record by record with Great Expectations.

Every row of an extract is classified against the consent ledger at the time of the extract.
A row is compliant when it has an active consent for the extract's purpose, or when it is a public
platform review admitted under the purpose's declared lawful basis. It is a violation when that
consent is withdrawn, expired or absent, and a gap when there is no consent data at all. Gaps are
never counted as allowed.

The extract's rows and their check columns (prefixed `check_`) form one Great Expectations batch.
The suite asserts that every row is compliant, overall and per source, that no withdrawn customer
appears, that the extract has exactly its declared columns, and the rules of each extract. The run
goes through a checkpoint of a file-backed context under the data folder, whose Data Docs (HTML)
are the DPO's report; expectations are described in the DPO's language, with the counts.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from governance.private_files import private_dir
from governance.register.i18n import value_label

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

SAMPLE_SIZE = 20
CHECK_PREFIX = "check_"
CUSTOMER_COLUMN = "check_customer_id"
NOT_WITHDRAWN = "not_withdrawn"
FIRST_OF_CUSTOMER = "first"
DATA_SOURCE = "consent_extracts"


@dataclass
class CoverageResult:
    """The outcome of one extract's validation: counts, coverage and sample ids, no values."""

    purpose: str
    extract: str
    checked: int
    compliant: int
    violations: int
    gaps: int
    success: bool
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    by_consent_source: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_expectations: list[str] = field(default_factory=list)
    sample_violation_ids: list[str] = field(default_factory=list)
    sample_gap_ids: list[str] = field(default_factory=list)
    data_docs: str | None = None

    @property
    def coverage_pct(self) -> float:
        return 100.0 if self.checked == 0 else round(100.0 * self.compliant / self.checked, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "extract": self.extract,
            "checked": self.checked,
            "compliant": self.compliant,
            "violations": self.violations,
            "gaps": self.gaps,
            "coverage_pct": self.coverage_pct,
            "success": self.success,
            "by_source": self.by_source,
            "by_consent_source": self.by_consent_source,
            "failed_expectations": self.failed_expectations,
            "sample_violation_ids": self.sample_violation_ids,
            "sample_gap_ids": self.sample_gap_ids,
            "data_docs": self.data_docs,
        }


@dataclass(frozen=True)
class ExtractRules:
    """The checks of one extract's suite besides consent coverage."""

    extract: str
    purpose: str
    columns: tuple[str, ...]
    withdrawn_customers: frozenset[str] = frozenset()
    platform_basis: str | None = None
    allowed_sources: tuple[str, ...] | None = None
    max_rating: float | None = None
    min_rating: float | None = None
    unique_customer: bool = False
    scan_identifiers: bool = False
    check_tone: bool = False


_TEXTS = {
    "columns": {
        "fr": "L'extrait contient exactement ses colonnes déclarées, et aucune autre : {columns}.",
        "en": "The extract has exactly its declared columns and no other: {columns}.",
    },
    "coverage": {
        "fr": "Chaque ligne repose sur un consentement actif pour la finalité {purpose}{platform} : "
              "{compliant}, {violations}, {gaps} sur {checked} (couverture {pct} %). Une lacune "
              "n'est jamais comptée comme autorisée.",
        "en": "Every row rests on an active consent for the purpose {purpose}{platform}: {compliant}, "
              "{violations}, {gaps} out of {checked} (coverage {pct} %). A gap is never counted as "
              "allowed.",
    },
    "platform": {
        "fr": ", ou, pour un avis de plateforme publique, sur la base légale « {basis} »",
        "en": ", or, for a public platform review, on the lawful basis “{basis}”",
    },
    "labelled": {
        "fr": "« {label} » ({code})",
        "en": "“{label}” ({code})",
    },
    "coverage_source": {
        "fr": "Source {source}, finalité {purpose} : {compliant} sur {checked} (couverture {pct} %).",
        "en": "Source {source}, purpose {purpose}: {compliant} out of {checked} (coverage {pct} %).",
    },
    "withdrawn": {
        "fr": "Aucun client ayant retiré son consentement pour la finalité {purpose} n'apparaît "
              "({customers} en tout).",
        "en": "No customer who withdrew their consent for the purpose {purpose} appears ({customers} "
              "in all).",
    },
    "unique_review": {
        "fr": "Chaque avis apparaît au plus une fois.",
        "en": "Each review appears at most once.",
    },
    "unique_customer": {
        "fr": "Chaque client apparaît au plus une fois.",
        "en": "Each customer appears at most once.",
    },
    "sources": {
        "fr": "Seuls les avis de nos propres clients figurent ici, jamais ceux d'une plateforme "
              "publique. Sources admises : {sources}.",
        "en": "Only reviews of our own customers are here, never a public platform's. Sources "
              "admitted: {sources}.",
    },
    "rating": {
        "fr": "La note est comprise entre {low} et {high}.",
        "en": "The rating is between {low} and {high}.",
    },
    "rating_exact": {
        "fr": "La note vaut {value}.",
        "en": "The rating is {value}.",
    },
    "identifiers": {
        "fr": "Aucun identifiant direct (adresse e-mail, téléphone, nom ou identifiant client du "
              "CRM) dans le texte masqué.",
        "en": "No direct identifier (email, phone, CRM name or customer id) in the masked text.",
    },
    "tone": {
        "fr": "Le texte de l'avis n'est pas négatif (règle lexicale décrite dans docs/consent.md).",
        "en": "The review text is not negative (lexicon rule described in docs/consent.md).",
    },
}


def _text(key: str, language: str, **values: object) -> str:
    templates = _TEXTS[key]
    return templates.get(language, templates["fr"]).format(**values)


def _labelled(group: str, code: str, language: str) -> str:
    """Return a purpose or source as the DPO reads it: its label, then its code for reference.

    A code with no label in `governance/register/labels.yaml` is shown alone.
    """
    label = value_label(group, code, language)
    return code if label == code else _text("labelled", language, label=label, code=code)


# Count nouns of the coverage texts: (singular, plural) per language. French puts 0 and 1 in the singular.
_NOUNS = {
    "compliant": {"fr": ("conforme", "conformes"), "en": ("compliant", "compliant")},
    "violation": {"fr": ("violation", "violations"), "en": ("violation", "violations")},
    "gap": {"fr": ("lacune", "lacunes"), "en": ("gap", "gaps")},
    "customer": {"fr": ("client", "clients"), "en": ("customer", "customers")},
}


def _count(count: int, noun: str, language: str) -> str:
    """Return `count` with its noun in the singular or plural of `language`."""
    singular, plural = _NOUNS[noun].get(language, _NOUNS[noun]["fr"])
    single = count <= 1 if language == "fr" else count == 1
    return f"{count} {singular if single else plural}"


def summarize_coverage(frame: pd.DataFrame, *, purpose: str, extract: str) -> CoverageResult:
    """Count compliant rows, violations and gaps, overall, per review source and per consent source."""
    coverage = frame["check_coverage"]
    violations = frame[coverage == "violation"]
    gaps = frame[coverage == "gap"]
    by_source: dict[str, dict[str, int]] = {}
    for (source, state), count in frame.groupby(["check_source", "check_coverage"]).size().items():
        by_source.setdefault(str(source), {})[str(state)] = int(count)
    by_consent_source: dict[str, dict[str, int]] = {}
    consent_sources = frame["check_consent_source"].fillna("none")
    for (source, state), count in frame.groupby([consent_sources, frame["check_coverage"]]).size().items():
        by_consent_source.setdefault(str(source), {})[str(state)] = int(count)
    return CoverageResult(
        purpose=purpose,
        extract=extract,
        checked=len(frame),
        compliant=int((coverage == "compliant").sum()),
        violations=len(violations),
        gaps=len(gaps),
        success=False,
        by_source=by_source,
        by_consent_source=by_consent_source,
        sample_violation_ids=[str(value) for value in violations["check_review_id"].head(SAMPLE_SIZE)],
        sample_gap_ids=[str(value) for value in gaps["check_review_id"].head(SAMPLE_SIZE)],
    )


def without_customer_ids(frame: pd.DataFrame, rules: ExtractRules) -> pd.DataFrame:
    """Replace `check_customer_id` with the outcome of the two checks that need it.

    Great Expectations writes the value set of each expectation and the unexpected values of a
    failed one into its suites, validation results and Data Docs under the data folder. Erasure
    does not rewrite those files, so the batch carries no customer id. `check_withdrawn` is
    `withdrawn` or `not_withdrawn`. `check_customer_repeat` is `first` for a customer's first row
    and `repeat` for the next ones, so the results list the review ids of the repeats.
    """
    checked = frame.drop(columns=[CUSTOMER_COLUMN])
    customer_ids = frame[CUSTOMER_COLUMN]
    if rules.withdrawn_customers:
        withdrawn = customer_ids.isin(rules.withdrawn_customers)
        checked["check_withdrawn"] = withdrawn.map({True: "withdrawn", False: NOT_WITHDRAWN})
    if rules.unique_customer:
        # GX's uniqueness expectation ignores missing values, and so does this one.
        repeat = customer_ids.notna() & customer_ids.duplicated(keep="first")
        checked["check_customer_repeat"] = repeat.map({True: "repeat", False: FIRST_OF_CUSTOMER})
    return checked


def _pct(compliant: int, checked: int, language: str) -> str:
    """Return the coverage percentage with one decimal, with a decimal comma in French."""
    text = "100.0" if checked == 0 else f"{100.0 * compliant / checked:.1f}"
    return text.replace(".", ",") if language == "fr" else text


def build_suite(frame: pd.DataFrame, rules: ExtractRules, result: CoverageResult, language: str):  # type: ignore[no-untyped-def]
    """Return the extract's expectation suite, its descriptions carrying this run's counts."""
    import great_expectations as gx

    expectations = gx.expectations
    suite = gx.ExpectationSuite(name=f"{rules.extract}_extract")
    check_columns = [column for column in frame.columns if column.startswith(CHECK_PREFIX)]
    purpose = _labelled("purposes", rules.purpose, language)
    platform = ""
    if rules.platform_basis is not None:
        basis = value_label("lawful_bases", rules.platform_basis, language)
        platform = _text("platform", language, basis=basis)
    suite.add_expectation(
        expectations.ExpectTableColumnsToMatchSet(
            column_set=[*rules.columns, *check_columns],
            exact_match=True,
            description=_text("columns", language, columns=", ".join(rules.columns)),
        )
    )
    suite.add_expectation(
        expectations.ExpectColumnValuesToBeInSet(
            column="check_coverage",
            value_set=["compliant"],
            description=_text(
                "coverage", language, purpose=purpose, platform=platform,
                compliant=_count(result.compliant, "compliant", language),
                violations=_count(result.violations, "violation", language),
                gaps=_count(result.gaps, "gap", language),
                checked=result.checked,
                pct=_pct(result.compliant, result.checked, language),
            ),
        )
    )
    for source, counts in sorted(result.by_source.items()):
        checked = sum(counts.values())
        compliant = counts.get("compliant", 0)
        suite.add_expectation(
            expectations.ExpectColumnValuesToBeInSet(
                column="check_coverage",
                value_set=["compliant"],
                row_condition=f'check_source=="{source}"',
                condition_parser="pandas",
                description=_text(
                    "coverage_source", language, source=_labelled("review_sources", source, language),
                    purpose=purpose, compliant=_count(compliant, "compliant", language), checked=checked,
                    pct=_pct(compliant, checked, language),
                ),
            )
        )
    if rules.withdrawn_customers:
        suite.add_expectation(
            expectations.ExpectColumnValuesToBeInSet(
                column="check_withdrawn",
                value_set=[NOT_WITHDRAWN],
                description=_text(
                    "withdrawn", language, customers=_count(len(rules.withdrawn_customers), "customer", language),
                    purpose=purpose,
                ),
            )
        )
    suite.add_expectation(
        expectations.ExpectColumnValuesToBeUnique(
            column="check_review_id", description=_text("unique_review", language)
        )
    )
    if rules.unique_customer:
        suite.add_expectation(
            expectations.ExpectColumnValuesToBeInSet(
                column="check_customer_repeat", value_set=[FIRST_OF_CUSTOMER],
                description=_text("unique_customer", language),
            )
        )
    if rules.allowed_sources is not None:
        suite.add_expectation(
            expectations.ExpectColumnValuesToBeInSet(
                column="check_source",
                value_set=list(rules.allowed_sources),
                description=_text(
                    "sources", language,
                    sources=", ".join(_labelled("review_sources", source, language) for source in rules.allowed_sources),
                ),
            )
        )
    if rules.min_rating is not None or rules.max_rating is not None:
        low, high = rules.min_rating or 1, rules.max_rating or 5
        if low == high:
            rating_text = _text("rating_exact", language, value=low)
        else:
            rating_text = _text("rating", language, low=low, high=high)
        suite.add_expectation(
            expectations.ExpectColumnValuesToBeBetween(
                column="rating",
                min_value=rules.min_rating,
                max_value=rules.max_rating,
                description=rating_text,
            )
        )
    if rules.scan_identifiers:
        suite.add_expectation(
            expectations.ExpectColumnValuesToBeInSet(
                column="check_identifier", value_set=["none"], description=_text("identifiers", language)
            )
        )
    if rules.check_tone:
        suite.add_expectation(
            expectations.ExpectColumnValuesToBeInSet(
                column="check_tone", value_set=["not_negative"], description=_text("tone", language)
            )
        )
    return suite


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialise access to the file-backed context: extract tasks of one run may run in parallel."""
    # Great Expectations chooses the modes of its files, so the owner-only data folder protects them.
    private_dir(data_dir)
    with (data_dir / "gx.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def file_context(data_dir: Path):  # type: ignore[no-untyped-def]
    """Open (or create) the file-backed Great Expectations context under `data_dir/gx`.

    Usage analytics are turned off (no network call) and progress bars are silenced, because the
    validation runs in Airflow task logs.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(data_dir))
    progress = context.variables.progress_bars
    # A freshly created context returns a ProgressBarsConfig, but one read back from YAML a dict.
    progress_on = progress.get("globally") if isinstance(progress, dict) else getattr(progress, "globally", None)
    if context.variables.analytics_enabled is not False or progress_on is not False:
        context.variables.analytics_enabled = False
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.variables.save()
    return context


def _batch_definition(context, extract: str):  # type: ignore[no-untyped-def]
    """Return the whole-dataframe batch definition of the extract, creating what is missing."""
    try:
        data_source = context.data_sources.get(DATA_SOURCE)
    except (KeyError, ValueError):
        data_source = context.data_sources.add_pandas(name=DATA_SOURCE)
    try:
        asset = data_source.get_asset(extract)
    except LookupError:
        asset = data_source.add_dataframe_asset(name=extract)
    name = f"{extract}_batch"
    try:
        return asset.get_batch_definition(name)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(name)


def data_docs_index(data_dir: Path) -> Path:
    """Return the path of the Data Docs home page of the context under `data_dir`."""
    return data_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def validate_extract(
    frame: pd.DataFrame,
    rules: ExtractRules,
    *,
    data_dir: Path,
    run_name: str,
    language: str = "fr",
) -> CoverageResult:
    """Validate an extract with its check columns through a checkpoint; update the Data Docs.

    Returns the coverage counts with `success` set from the Great Expectations result.
    """
    result = summarize_coverage(frame, purpose=rules.purpose, extract=rules.extract)
    frame = without_customer_ids(frame, rules)
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    with _locked(data_dir):
        context = file_context(data_dir)
        batch_definition = _batch_definition(context, rules.extract)
        suite = context.suites.add_or_update(build_suite(frame, rules, result, language))
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{rules.extract}_extract", data=batch_definition, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"{rules.extract}_extract",
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
                result_format={
                    "result_format": "SUMMARY",
                    "unexpected_index_column_names": ["check_review_id"],
                    "partial_unexpected_count": SAMPLE_SIZE,
                },
            )
        )
        outcome = checkpoint.run(
            batch_parameters={"dataframe": frame},
            run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(UTC)),
        )

    validation = next(iter(outcome.run_results.values()))
    result.success = bool(outcome.success)
    result.failed_expectations = [
        item.expectation_config.description or item.expectation_config.type
        for item in validation.results
        if not item.success
    ]
    result.data_docs = str(data_docs_index(data_dir))
    log.info(
        "Validated the %s extract: %d rows, %d compliant, %d violations, %d gaps, success=%s",
        rules.extract, result.checked, result.compliant, result.violations, result.gaps, result.success,
    )
    return result
