"""Every fideslang data category the taxonomy maps to exists in fideslang's own default taxonomy."""

from __future__ import annotations

from fideslang.default_taxonomy import DEFAULT_TAXONOMY

from pipelines.taxonomy import TAGS

FIDESLANG = {c.fides_key for c in DEFAULT_TAXONOMY.data_category}


def test_every_fideslang_mapping_exists() -> None:
    mapped = {
        (tag, target.removeprefix("fideslang:"))
        for tag, info in TAGS.items()
        for target in info.maps_to
        if target.startswith("fideslang:")
    }
    assert mapped, "the taxonomy maps to fideslang"
    missing = sorted((tag, key) for tag, key in mapped if key not in FIDESLANG)
    assert missing == []


def test_special_categories_map_to_article_9_and_their_fideslang_category() -> None:
    expected = {
        "person.special.health": "user.health_and_medical",
        "person.special.genetic": "user.health_and_medical.genetic",
        "person.special.biometric": "user.biometric",
        "person.special.ethnicity": "user.demographic.race_ethnicity",
        "person.special.religion": "user.demographic.religious_belief",
        "person.special.politics": "user.demographic.political_opinion",
        "person.special.sexual_orientation": "user.demographic.sexual_orientation",
    }
    for tag, key in expected.items():
        assert "gdpr:art9" in TAGS[tag].maps_to and f"fideslang:{key}" in TAGS[tag].maps_to
    assert "fideslang:user.contact.address.postal_code" in TAGS["person.quasi"].maps_to
