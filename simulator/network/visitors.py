"""Realistic visitor defaults for clicks made without explicit values: IPs, user agents, countries.

Faker supplies the randomness (seedable per app through `config.faker_seed`); the shapes are
today's browsers and the countries affiliate traffic mostly comes from, so a receiver that forwards
them to an ad platform sends plausible values.
"""

from __future__ import annotations

from collections import OrderedDict

from faker import Faker

IPV6_SHARE = 0.25

COUNTRY_WEIGHTS = OrderedDict(
    [("US", 0.40), ("GB", 0.12), ("CA", 0.08), ("DE", 0.08), ("AU", 0.06), ("FR", 0.06),
     ("BR", 0.05), ("IN", 0.05), ("NL", 0.04), ("ES", 0.03), ("IT", 0.03)]
)

_USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/{safari} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{safari} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0",
    # Meta's in-app browser: paid social traffic often arrives through it.
    "Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/{fbav}.0.0.45.113;FBBV/{fbbv}]",
)
_ANDROID_MODELS = ("Pixel 8", "SM-S918B", "SM-A546B", "Pixel 7a", "moto g power (2024)")


def ip_address(faker: Faker) -> str:
    """A public IPv4 address, or (a quarter of the time) an IPv6 one."""
    if faker.random.random() < IPV6_SHARE:
        return faker.ipv6()
    return faker.ipv4_public()


def user_agent(faker: Faker) -> str:
    """A current mobile or desktop browser's User-Agent header."""
    rnd = faker.random
    ios_major, ios_minor = rnd.randint(16, 18), rnd.randint(0, 6)
    return rnd.choice(_USER_AGENTS).format(
        ios=f"{ios_major}_{ios_minor}",
        safari=f"{ios_major}.{ios_minor}",
        android=rnd.randint(12, 15),
        model=rnd.choice(_ANDROID_MODELS),
        chrome=rnd.randint(124, 131),
        firefox=rnd.randint(125, 132),
        fbav=rnd.randint(470, 490),
        fbbv=rnd.randint(600000000, 699999999),
    )


def country(faker: Faker) -> str:
    """An ISO 3166-1 alpha-2 code, weighted like typical affiliate traffic."""
    return str(faker.random_element(COUNTRY_WEIGHTS))
