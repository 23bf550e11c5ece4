"""Languages the workflow knows: ISO 639-1 code -> English name, family, hub names.

Families are the top-level family of each language in Glottolog 5.0
(Hammarström, Forkel, Haspelmath & Bank, https://glottolog.org, CC BY 4.0). A paper that
groups languages by typological distance to English (e.g. in its gain plot) can approximate it by
family (Indo-European vs. the rest), saying so where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    family: str


_TABLE = """
af Afrikaans Indo-European
ar Arabic Afro-Asiatic
az Azerbaijani Turkic
bg Bulgarian Indo-European
bn Bengali Indo-European
de German Indo-European
el Greek Indo-European
en English Indo-European
es Spanish Indo-European
et Estonian Uralic
eu Basque Basque
fa Persian Indo-European
fi Finnish Uralic
fr French Indo-European
gu Gujarati Indo-European
he Hebrew Afro-Asiatic
hi Hindi Indo-European
hu Hungarian Uralic
id Indonesian Austronesian
it Italian Indo-European
ja Japanese Japonic
jv Javanese Austronesian
ka Georgian Kartvelian
kk Kazakh Turkic
ko Korean Koreanic
lt Lithuanian Indo-European
ml Malayalam Dravidian
mr Marathi Indo-European
ms Malay Austronesian
my Burmese Sino-Tibetan
nl Dutch Indo-European
pa Punjabi Indo-European
pl Polish Indo-European
pt Portuguese Indo-European
qu Quechua Quechuan
ro Romanian Indo-European
ru Russian Indo-European
sw Swahili Atlantic-Congo
ta Tamil Dravidian
te Telugu Dravidian
th Thai Tai-Kadai
tl Tagalog Austronesian
tr Turkish Turkic
uk Ukrainian Indo-European
ur Urdu Indo-European
vi Vietnamese Austroasiatic
wo Wolof Atlantic-Congo
yo Yoruba Atlantic-Congo
zh Chinese Sino-Tibetan
"""

LANGUAGES: dict[str, Language] = {
    code: Language(code, name, family) for code, name, family in (line.split() for line in _TABLE.strip().splitlines())
}


def language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise KeyError(f"unknown language code {code!r}; known: {' '.join(sorted(LANGUAGES))}") from None


def family_group(code: str) -> str:
    """Indo-European or not: a coarse grouping by distance to English (see module doc)."""
    return "Indo-European" if language(code).family == "Indo-European" else "other families"
