"""Labels of the register exports in French (the default) and English."""

from __future__ import annotations

LANGUAGES = ("fr", "en")

LABELS: dict[str, dict[str, str]] = {
    # Page and sections.
    "title": {"fr": "Registre des activités de traitement", "en": "Record of processing activities"},
    "generated_at": {"fr": "Généré le", "en": "Generated on"},
    "period": {"fr": "Période", "en": "Period"},
    "period_start": {"fr": "du", "en": "from"},
    "period_end": {"fr": "au", "en": "to"},
    "beginning": {"fr": "le début du journal", "en": "the start of the journal"},
    "organisation": {"fr": "Responsable du traitement", "en": "Controller"},
    "dpo": {"fr": "Délégué à la protection des données", "en": "Data protection officer"},
    "eu_representative": {"fr": "Représentant dans l'UE", "en": "EU representative"},
    "activities": {"fr": "Activités de traitement", "en": "Processing activities"},
    "summary": {"fr": "Synthèse de la période", "en": "Summary of the period"},
    "monthly": {"fr": "Enregistrements traités et effacés par mois", "en": "Records processed and deleted per month"},
    "journal": {"fr": "Journal des traitements", "en": "Processing journal"},
    "chain": {"fr": "Intégrité du journal", "en": "Journal integrity"},
    "chain_ok": {
        "fr": "Chaîne de hachage intacte : {entries} entrées, dernière entrée {head_seq}, empreinte {head_hash}.",
        "en": "Hash chain intact: {entries} entries, last entry {head_seq}, hash {head_hash}.",
    },
    "chain_broken": {
        "fr": "Chaîne de hachage rompue à l'entrée {seq} : {reason}.",
        "en": "Hash chain broken at entry {seq}: {reason}.",
    },
    "undeclared": {
        "fr": "Entrées du journal dont l'activité n'est pas déclarée au registre",
        "en": "Journal entries whose activity is not declared in the record",
    },
    "none": {"fr": "aucun", "en": "none"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    "not_applicable": {"fr": "sans objet", "en": "not applicable"},
    # Summary table.
    "activity": {"fr": "Activité", "en": "Activity"},
    "runs": {"fr": "Exécutions", "en": "Runs"},
    "entries": {"fr": "Entrées", "en": "Entries"},
    "failures": {"fr": "Échecs", "en": "Failures"},
    "records_processed": {"fr": "Enregistrements traités", "en": "Records processed"},
    "records_written": {"fr": "Enregistrements produits", "en": "Records written"},
    "records_deleted": {"fr": "Enregistrements effacés", "en": "Records deleted"},
    "entities_masked": {"fr": "Données personnelles masquées", "en": "Personal-data entities masked"},
    "consents_checked": {"fr": "Consentements vérifiés", "en": "Consents checked"},
    "extracts": {"fr": "Extractions produites", "en": "Extracts produced"},
    "month": {"fr": "Mois", "en": "Month"},
    "total": {"fr": "Total", "en": "Total"},
    # Journal columns.
    "seq": {"fr": "N°", "en": "No."},
    "recorded_at": {"fr": "Enregistrée le", "en": "Recorded at"},
    "purpose": {"fr": "Finalité", "en": "Purpose"},
    "dag_id": {"fr": "DAG", "en": "DAG"},
    "run_id": {"fr": "Exécution", "en": "Run"},
    "task_id": {"fr": "Tâche", "en": "Task"},
    "map_index": {"fr": "Partition", "en": "Map index"},
    "try_number": {"fr": "Tentative", "en": "Try"},
    "status": {"fr": "Statut", "en": "Status"},
    "error_type": {"fr": "Type d'erreur", "en": "Error type"},
    "started_at": {"fr": "Début", "en": "Start"},
    "ended_at": {"fr": "Fin", "en": "End"},
    "records_in": {"fr": "Entrées lues", "en": "Records in"},
    "records_out": {"fr": "Sorties", "en": "Records out"},
    "deletions": {"fr": "Effacements par catégorie", "en": "Deletions by category"},
    "code_version": {"fr": "Version du code", "en": "Code version"},
    "entry_hash": {"fr": "Empreinte", "en": "Hash"},
    "recipients": {"fr": "destinataires", "en": "recipients"},
    "kind": {"fr": "Origine", "en": "Source"},
    "kind_report": {"fr": "compte rendu de la tâche", "en": "task report"},
    "kind_outcome": {"fr": "issue de la tâche (listener Airflow)", "en": "task outcome (Airflow listener)"},
    # Activity fields, in the order of the CNIL register model.
    "number": {"fr": "N° / référence", "en": "Number / reference"},
    "name": {"fr": "Nom du traitement", "en": "Name of the processing"},
    "created_on": {"fr": "Date de création", "en": "Created on"},
    "updated_on": {"fr": "Dernière mise à jour", "en": "Last update"},
    "joint_controller": {"fr": "Responsable conjoint", "en": "Joint controller"},
    "software": {"fr": "Logiciels utilisés", "en": "Software used"},
    "dags": {"fr": "DAG Airflow", "en": "Airflow DAGs"},
    "main_purpose": {"fr": "Finalité principale", "en": "Main purpose"},
    "sub_purposes": {"fr": "Sous-finalités", "en": "Sub-purposes"},
    "lawful_basis": {"fr": "Base légale", "en": "Lawful basis"},
    "lawful_basis_detail": {"fr": "Précisions sur la base légale", "en": "Lawful basis details"},
    "legitimate_interest_assessment": {
        "fr": "Évaluation de l'intérêt légitime",
        "en": "Legitimate-interest assessment",
    },
    "consent_purpose": {"fr": "Finalité de consentement", "en": "Consent purpose"},
    "consent_register": {"fr": "Registre des consentements", "en": "Consent register"},
    "data_subjects": {"fr": "Catégories de personnes concernées", "en": "Categories of data subjects"},
    "data_categories": {"fr": "Catégories de données personnelles", "en": "Categories of personal data"},
    "retention": {"fr": "Durées de conservation par catégorie", "en": "Retention period per category"},
    "sensitive_data": {"fr": "Données sensibles", "en": "Sensitive data"},
    "article_9_condition": {"fr": "condition de l'article 9", "en": "article 9 condition"},
    "recipients_internal": {"fr": "Destinataires internes", "en": "Internal recipients"},
    "recipients_external": {"fr": "Destinataires externes", "en": "External recipients"},
    "processors": {"fr": "Sous-traitants", "en": "Processors"},
    "transfers": {"fr": "Transferts hors UE", "en": "Transfers outside the EU"},
    "safeguards": {"fr": "garanties", "en": "safeguards"},
    "documentation": {"fr": "documentation", "en": "documentation"},
    "security_access_control": {"fr": "Sécurité : contrôle d'accès", "en": "Security: access control"},
    "security_traceability": {"fr": "Sécurité : traçabilité", "en": "Security: traceability"},
    "security_software_protection": {"fr": "Sécurité : protection des logiciels", "en": "Security: software protection"},
    "security_backups": {"fr": "Sécurité : sauvegardes", "en": "Security: backups"},
    "security_encryption": {"fr": "Sécurité : chiffrement", "en": "Security: encryption"},
    "security_processor_control": {"fr": "Sécurité : contrôle des sous-traitants", "en": "Security: processor control"},
    "security_other": {"fr": "Sécurité : autres mesures", "en": "Security: other measures"},
    "automated_decisions": {"fr": "Décision automatisée ou profilage", "en": "Automated decision or profiling"},
    "dpia": {"fr": "AIPD (analyse d'impact)", "en": "DPIA (impact assessment)"},
    "dpia_required": {"fr": "requise", "en": "required"},
    "dpia_done": {"fr": "réalisée", "en": "done"},
    "data_subject_rights": {"fr": "Exercice des droits", "en": "Exercise of rights"},
    "privacy_policy_url": {"fr": "Politique de confidentialité", "en": "Privacy policy"},
    "last_review": {"fr": "Dernière revue", "en": "Last review"},
    "enforced_by": {"fr": "appliquée par", "en": "enforced by"},
    "not_automated": {"fr": "effacement non automatisé", "en": "erasure not automated"},
}

LAWFUL_BASES = {
    "consent": {"fr": "Consentement (art. 6.1.a)", "en": "Consent (art. 6(1)(a))"},
    "contract": {"fr": "Exécution d'un contrat (art. 6.1.b)", "en": "Performance of a contract (art. 6(1)(b))"},
    "legal_obligation": {"fr": "Obligation légale (art. 6.1.c)", "en": "Legal obligation (art. 6(1)(c))"},
    "vital_interests": {"fr": "Intérêts vitaux (art. 6.1.d)", "en": "Vital interests (art. 6(1)(d))"},
    "public_task": {"fr": "Mission d'intérêt public (art. 6.1.e)", "en": "Public task (art. 6(1)(e))"},
    "legitimate_interests": {"fr": "Intérêt légitime (art. 6.1.f)", "en": "Legitimate interests (art. 6(1)(f))"},
}

DATA_CATEGORIES = {
    "identity": {"fr": "État civil, identité, données d'identification", "en": "Civil status, identity, identification data"},
    "private_life": {"fr": "Vie personnelle", "en": "Private life"},
    "professional_life": {"fr": "Vie professionnelle", "en": "Professional life"},
    "economic_financial": {"fr": "Informations d'ordre économique et financier", "en": "Economic and financial data"},
    "connection": {"fr": "Données de connexion", "en": "Connection data"},
    "location": {"fr": "Données de localisation", "en": "Location data"},
    "internet": {"fr": "Données internet", "en": "Internet data"},
    "other": {"fr": "Autres", "en": "Other"},
}

RETENTION_EVENTS = {
    "last_contact": {"fr": "à compter du dernier contact venant du client", "en": "from the customer's last contact"},
    "removal_at_source": {
        "fr": "jusqu'au retrait de l'avis sur la plateforme",
        "en": "until the review is removed from the platform",
    },
    "consent_withdrawal": {"fr": "jusqu'au retrait du consentement", "en": "until consent is withdrawn"},
    "entry_recorded": {"fr": "à compter de l'enregistrement", "en": "from when the entry is recorded"},
    "collection": {"fr": "à compter de la collecte", "en": "from collection"},
    "purpose_end": {"fr": "à compter de la fin de la finalité", "en": "from the end of the purpose"},
    "after_consent_withdrawal": {"fr": "à compter du retrait du consentement", "en": "from consent withdrawal"},
}

RETENTION_ACTIONS = {
    "delete": {"fr": "puis suppression", "en": "then deleted"},
    "anonymise": {"fr": "puis anonymisation", "en": "then anonymised"},
    "crypto_shred": {"fr": "puis destruction de la clé de chiffrement", "en": "then its encryption key is destroyed"},
}

# Activities that the record does not declare because they process no personal data.
INTERNAL_ACTIVITIES = {
    "register": {"fr": "Tenue du registre (aucune donnée personnelle)", "en": "Keeping the register (no personal data)"},
}


def label(key: str, language: str) -> str:
    """Return the label of `key` in `language`, or the key itself when it has no label."""
    entry = LABELS.get(key)
    return entry.get(language, entry["fr"]) if entry else key


def check_language(language: str) -> str:
    """Return `language` when supported; raise ValueError naming the supported ones otherwise."""
    if language not in LANGUAGES:
        raise ValueError(f"Unsupported language {language!r}: use one of {', '.join(LANGUAGES)}.")
    return language


def format_months(months: int, language: str) -> str:
    """Write a number of months as years when it divides evenly: `3 ans`, `13 months`."""
    if months % 12 == 0:
        years = months // 12
        unit = ("an" if years == 1 else "ans") if language == "fr" else ("year" if years == 1 else "years")
        return f"{years} {unit}"
    unit = "mois" if language == "fr" else ("month" if months == 1 else "months")
    return f"{months} {unit}"
