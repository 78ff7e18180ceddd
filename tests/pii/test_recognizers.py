"""French identifiers, addresses and names through the loaded engine."""

import pytest
import regex

from .conftest import DATA_DIR, masked_values


def _types(detections):
    return [detection.entity_type for detection in detections]


@pytest.mark.parametrize(
    "phone",
    [
        "0612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "+33 6 12 34 56 78",
        "0033 6 12 34 56 78",
        "01 53 13 35 12",
    ],
)
def test_phone_french_written_forms(engine, phone):
    text = f"Joignable au {phone} le soir."
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == [phone]
    assert _types(detections) == ["PHONE_NUMBER"]


@pytest.mark.parametrize("phone", ["(526) 057-4793", "829-994-6545", "+1 523 080 3915"])
def test_phone_north_american_forms(engine, phone):
    text = f"Great food. Call me at {phone}."
    detections = engine.detect(text, "en")
    assert masked_values(text, detections) == [phone]


def test_span_widened_to_whole_digit_run():
    from governance.pii.conflicts import expand_to_word_boundaries

    text = "Référence 0612345678901234 à suivre"
    assert expand_to_word_boundaries(text, 10, 20) == (10, 26)
    assert expand_to_word_boundaries(text, 10, 26) == (10, 26)


def test_phone_inside_longer_digit_run_not_half_masked(engine):
    text = "Référence colis 0612345678901234 à suivre"
    result = engine.mask(text, "fr")
    digit_run_visible = "0612345678901234" in result.masked_text
    digits_left = any(part in result.masked_text for part in ("01234", "90123"))
    assert digit_run_visible or not digits_left


@pytest.mark.parametrize(
    "nir",
    ["1 85 05 78 006 084 91", "185057800608491", "2 85 12 2A 123 456 95", "190062A04470285"],
)
def test_nir_valid_forms(engine, nir):
    from stdnum.fr import nir as stdnum_nir

    assert stdnum_nir.is_valid(nir.replace(" ", "")), "test value must carry a valid key"
    text = f"Mon numéro de sécurité sociale : {nir}."
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == [nir]
    assert _types(detections) == ["FR_NIR"]


def test_nir_wrong_key_not_detected(engine):
    detections = engine.detect("Numéro de sécurité sociale : 185057800608437.", "fr")
    assert "FR_NIR" not in _types(detections)


def test_siret_spaced_with_context(engine):
    text = "Facture au nom de mon entreprise, SIRET 732 829 320 00074."
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == ["732 829 320 00074"]
    assert _types(detections) == ["FR_SIRET"]


def test_siret_la_poste_exception(engine):
    # La Poste establishments: digit sum a multiple of 5 instead of Luhn.
    text = "SIRET du bureau : 35600000000010"
    detections = engine.detect(text, "fr")
    assert _types(detections) == ["FR_SIRET"]


def test_siren_needs_context(engine):
    with_context = engine.detect("Notre SIREN est 732 829 320.", "fr")
    without_context = engine.detect("Le colis 732 829 320 est arrivé.", "fr")
    assert _types(with_context) == ["FR_SIREN"]
    assert without_context == []


def test_iban_groups_of_four(engine):
    iban = "FR76 3000 6000 0112 3456 7890 189"
    text = f"Remboursez-moi sur le compte {iban} svp"
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == [iban]
    assert _types(detections) == ["IBAN_CODE"]


def test_iban_lower_case(engine):
    iban = "fr76 3000 6000 0112 3456 7890 189"
    text = f"Mon rib : {iban}"
    assert masked_values(text, engine.detect(text, "fr")) == [iban]


def test_iban_lower_case_bad_checksum_readable(engine):
    assert engine.detect("Ref fr76 3000 6000 0112 3456 7890 188", "fr") == []


@pytest.mark.parametrize(
    "email",
    [
        "jean.dupont [at] gmail [dot] com",
        "jean.dupont(at)free.fr",
        "jean.dupont{@}orange.fr",
        "marie arobase orange point fr",
        "marie.curie arobase laposte.net",
        "john at example dot com",
    ],
)
def test_obfuscated_email_forms(engine, email):
    text = f"Écrivez-moi à {email} merci"
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == [email]
    assert _types(detections) == ["EMAIL_ADDRESS"]


def test_spelled_at_with_real_dot_readable(engine):
    assert engine.detect("We met at booking.com last year.", "en") == []


@pytest.mark.parametrize("card", ["4970 1012 3456 7893", "2223000048400011", "5555-5555-5555-4444"])
def test_card_luhn_valid_forms(engine, card):
    text = f"J'ai été débité deux fois sur la carte {card} !"
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == [card]
    assert _types(detections) == ["CREDIT_CARD"]


def test_card_english_context(engine):
    text = "They charged my card 4111 1111 1111 1111 twice."
    detections = engine.detect(text, "en")
    assert _types(detections) == ["CREDIT_CARD"]


def test_card_luhn_invalid_not_detected(engine):
    detections = engine.detect("Commande n° 4970 1012 3456 7898 bien reçue", "fr")
    assert "CREDIT_CARD" not in _types(detections)


@pytest.mark.parametrize("plate", ["AB-123-CD", "123 ABC 75"])
def test_plate_siv_and_fni(engine, plate):
    text = f"La camionnette immatriculée {plate} était garée devant chez moi."
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == [plate]
    assert _types(detections) == ["FR_LICENSE_PLATE"]


def test_address_one_span(engine):
    address = "12 bis, rue de la Paix, 75002 Paris"
    text = f"J'habite {address}. Livraison rapide."
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == [address]
    assert _types(detections) == ["LOCATION"]


def test_address_saint_town(engine):
    address = "5 avenue Victor Hugo, 35400 Saint-Malo"
    text = f"Livraison au {address} !"
    assert masked_values(text, engine.detect(text, "fr")) == [address]


def test_address_lower_case_with_context(engine):
    text = "J'habite 3 rue des lilas depuis dix ans."
    assert masked_values(text, engine.detect(text, "fr")) == ["3 rue des lilas"]


def test_address_lower_case_without_context_readable(engine):
    assert engine.detect("On a réservé 2 places de parking.", "fr") == []


def test_policy_town_brand_price_date_readable(engine):
    text = "Livré à Lyon le 12 mars, box HelloFresh à 59,90 € pour 4 personnes, en France."
    assert engine.detect(text, "fr") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Je remercie M. Dupont pour son aide.", "Dupont"),
        ("Rendez-vous avec Mme martin demain.", "martin"),
        ("Dossier de DUPONT Marie transmis.", "DUPONT Marie"),
        ("Patient : Dupuis, Jean-Luc, suivi.", "Dupuis, Jean-Luc"),
        ("Un grand merci à Julie pour sa patience.", "Julie"),
        ("Tout était parfait.\nCordialement, Marcel L.", "Marcel L."),
        ("Our server Rebecca was great.", "Rebecca"),
        ("Our server Stacey was great.", "Stacey"),
        ("Colis perdu, remboursez-moi.\nRose Bonnet Écrivez-moi vite.", "Rose Bonnet"),
        ("Bonne box.\nAimé Merci encore à tous.", "Aimé"),
    ],
    ids=[
        "title", "title-lower", "upper-surname-first", "surname-comma", "thanks", "signature",
        "english-role", "english-census-name", "capitalised-common-surname", "name-then-new-sentence",
    ],
)
def test_name_forms(engine, text, name):
    detections = engine.detect(text, None)
    assert masked_values(text, detections) == [name]
    assert _types(detections) == ["PERSON"]


def test_name_common_word_first_name_needs_surname(engine):
    detections = engine.detect("La sauce claire était bonne.", "fr")
    assert detections == []


@pytest.mark.parametrize(
    "text",
    ["J'ai beaucoup aimé recevoir les recettes.", "Ben c'est pas top.", "Livré le 1er mai sans souci.", "J'aime faire la cuisine."],
)
def test_common_words_near_names_readable(engine, text):
    assert engine.detect(text, "fr") == []


# The shortest text each pattern of a recognizer accepts, so that the prefilter of each
# recognizer (MIN_DIGITS, or `@` for emails) is checked against the patterns themselves.
SHORTEST_MATCHES = [
    "+1 2 34567",  # phone, international: country code, area code and five digits
    "1 AB 2A",  # licence plate, FNI with the Corsican department
    "AB-123-CD",
    "2 rue Haute",  # street address: house number only
    "rue du Port 75001 Paris",  # street address: postcode only
    "1 23 45 2A 678 901 23",  # NIR with the Corsican department
    "FR76AAAABBBBCCCC",  # IBAN: two check digits, the rest letters
    "4000 0000 0000 0",  # payment card, grouped, 13 digits
    "123 456 789",  # SIREN
    "123 456 789 01234",  # SIRET
    "a@b.fr",
    "a [at] b [dot] fr",
]


def test_prefilter_passes_every_pattern_match():
    from governance.pii.analyzer import build_recognizers
    from governance.pii.engine import _prefilter_of
    from governance.pii.evaluation import read_labelled

    texts = [
        record.text
        for name in ("reviews_pii_dev", "eds_pseudo_dev")
        for record in read_labelled(DATA_DIR / f"{name}.jsonl")
    ]
    texts += SHORTEST_MATCHES
    checked = 0
    for recognizer in build_recognizers("fr"):
        prefilter = _prefilter_of(recognizer)
        for pattern in getattr(recognizer, "patterns", []):
            compiled = regex.compile(pattern.regex, flags=recognizer.global_regex_flags)
            for text in texts:
                for match in compiled.finditer(text):
                    value = match.group()
                    digits = sum(character.isdecimal() for character in value)
                    assert prefilter.may_match(value, digits), (recognizer.name, pattern.name, value)
                    checked += 1
    assert checked > 300


def test_prefilter_min_digits_is_tight():
    from governance.pii.analyzer import build_recognizers

    for recognizer in build_recognizers("fr"):
        if not hasattr(recognizer, "MIN_DIGITS"):
            continue
        fewest = min(
            sum(character.isdecimal() for character in match.group())
            for pattern in recognizer.patterns
            for text in SHORTEST_MATCHES
            for match in regex.finditer(pattern.regex, text, flags=recognizer.global_regex_flags)
        )
        assert fewest == recognizer.MIN_DIGITS, recognizer.name


def test_lexicon_memo_cleared_when_full(monkeypatch):
    from governance.pii.recognizers import person
    from governance.pii.recognizers.person import NameLexicon

    monkeypatch.setattr(person, "MAX_REMEMBERED_WORDS", 2)
    lexicon = NameLexicon.load(frozenset({"livraison"}))
    known = [lexicon.is_first_name(word) for word in ("Julie", "livraison", "Helene", "Julie")]
    assert known == [True, False, True, True]
    assert [lexicon.is_common_word(word) for word in ("Livraison", "Dupont", "Livraison")] == [True, False, True]
    assert len(lexicon._first_name_memo) <= 2
